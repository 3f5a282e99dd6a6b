// Outgoing notifications over https: a real TLS receiver (python3's
// http.server with a certificate openssl makes for the test) checks that the
// notifier verifies the server against ca_file and signs the body. It starts
// processes, so it is an integration test.
#include "aggregator/notify/notifier.h"
#include "aggregator/storage/store.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "tests/support/harness.h"
#include "tests/support/skip.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace hale;
using namespace hale::aggregator;
using nlohmann::json;

namespace {
constexpr std::string_view kSecret = "notify-test-secret-0123456789";

notify::Target httpsTarget(uint16_t port, const std::string& ca_file) {
  notify::Target t;
  t.kind = "webhook";
  t.url_text = fmt::format("https://localhost:{}/hook", port);
  t.url = *net::parseUrl(t.url_text);
  t.secret = std::string(kSecret);
  t.events = {notify::Event::RegionFailover};
  t.timeout = std::chrono::seconds(5);
  t.ca_file = ca_file;
  return t;
}
}  // namespace

TEST_CASE("notify: delivers over https with mbedTLS verifying a python3 receiver against ca_file") {
  if (!test::requireTool("python3", "python3") || !test::requireTool("openssl", "openssl")) return;
  test::TempDir dir;
  REQUIRE(test::runCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", dir.file("c.key"), "-out", dir.file("c.pem"), "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost", "-days", "30"}) == 0);
  // A TLS receiver that writes "<signature> <body>" of each POST to a file.
  test::writeFile(dir.file("rx.py"), R"(import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        with open(sys.argv[4], 'ab') as f:
            f.write(self.headers.get('X-Hale-Signature-256', '').encode() + b' ' + body + b'\n')
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain(sys.argv[2], sys.argv[3])
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()
)");
  const uint16_t port = test::freePort();
  test::Process rx({"/bin/sh", "-c",
                    fmt::format("exec python3 {} {} {} {} {}", dir.file("rx.py"), port, dir.file("c.pem"),
                                dir.file("c.key"), dir.file("got.txt"))},
                   dir.file("rx.log"));
  REQUIRE(test::waitFor([&] { return test::portAcceptsConnections(port); }, std::chrono::seconds(5)));
  storage::Store store(dir.file("agg.db"));
  auto t = httpsTarget(port, dir.file("c.pem"));
  notify::Notifier n(dir.file("agg.db"), notify::Settings{{t}, "", std::chrono::milliseconds(20)});
  n.regionFailover("eu", "us", 9, "test");
  n.runOnce();
  CHECK(n.counters().sent == 1);
  CHECK(n.counters().retries == 0);
  std::ifstream in(dir.file("got.txt"));
  std::string sig, body;
  in >> sig;
  std::getline(in, body);
  body.erase(0, 1);
  CHECK(webhooks::githubSignatureValid(kSecret, body, sig));
  CHECK(json::parse(body)["event"] == "region_failover");

  // The same receiver with a trust file that does not cover it: refused, retried later.
  test::TempDir other;
  REQUIRE(test::runCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", other.file("o.key"), "-out", other.file("o.pem"), "-subj", "/CN=localhost",
                            "-days", "30"}) == 0);
  t.ca_file = other.file("o.pem");
  notify::Notifier untrusting(dir.file("agg.db"), notify::Settings{{t}, "", std::chrono::milliseconds(20)});
  untrusting.regionFailover("eu", "us", 10, "test");
  untrusting.runOnce();
  CHECK(untrusting.counters().sent == 0);
  CHECK(untrusting.counters().retries == 1);
}
