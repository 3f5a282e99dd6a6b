// Outgoing notifications against a real HTTP receiver on 127.0.0.1: HMAC
// checked by the receiver, 500 then 200 -> retried and delivered once, the
// queue surviving a restart, dedup, and region failover.
#include "aggregator/notify/notifier.h"
#include "aggregator/storage/store.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "shared/util/clock.h"
#include "tests/support/harness.h"
#include "tests/support/http_receiver.h"
#include "tests/support/skip.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

using namespace hale;
using namespace hale::aggregator;
using hale::test::Receiver;
using nlohmann::json;

namespace {
constexpr std::string_view kSecret = "notify-test-secret-0123456789";

notify::Target target(const std::string& kind, uint16_t port, std::vector<notify::Event> events) {
  notify::Target t;
  t.kind = kind;
  t.url_text = fmt::format("http://127.0.0.1:{}/hook", port);
  t.url = *net::parseUrl(t.url_text);
  t.secret = std::string(kSecret);
  t.events = std::move(events);
  t.retry_initial = std::chrono::milliseconds(100);
  t.retry_cap = std::chrono::milliseconds(400);
  t.max_attempts = 3;
  t.timeout = std::chrono::seconds(2);
  return t;
}

void remediation(storage::Store& store, uint64_t seq, wire::RemediationOutcome outcome, const std::string& reason,
                 uint64_t issue = 7, int64_t age_ms = 0) {
  storage::IngestItem item;
  item.node = "n1";
  item.region = "eu";
  item.seq = seq;
  item.sent_at_ms = item.received_ms = unixMillisNow();
  wire::RemediationRecord r;
  r.attempt_id = 3;
  r.issue_id = issue;
  r.check = "nginx";
  r.action = "plan";
  r.outcome = outcome;
  r.reason = reason;
  r.at_ms = unixMillisNow() - age_ms;
  item.remediation = r;
  store.ingest(std::span(&item, 1));
}

bool signatureOk(const Receiver::Got& g) {
  return webhooks::githubSignatureValid(kSecret, g.body, g.signature);  // same sha256=<hex> scheme
}
}  // namespace

TEST_CASE("notifier: a failed remediation is retried after a 500 and delivered once and signed across a restart") {
  test::TempDir dir;
  storage::Store store(dir.file("agg.db"));
  Receiver rx({500});
  notify::Settings settings{{target("webhook", rx.port(), {notify::Event::RemediationFailed})},
                            "http://127.0.0.1:8080",
                            std::chrono::milliseconds(50)};
  {
    remediation(store, 10, wire::RemediationOutcome::Failed, "before the first start", 99, 60'000);
    notify::Notifier n(dir.file("agg.db"), settings);
    n.runOnce();  // first pass: sets the watermark (history before it is not notified)
    CHECK(rx.got().empty());
    remediation(store, 1, wire::RemediationOutcome::Failed, "restart did not heal: exit 1");
    remediation(store, 2, wire::RemediationOutcome::Healed, "healed");
    n.runOnce();
    REQUIRE(rx.got().size() == 1);  // answered 500
    CHECK(n.counters().retries == 1);
    CHECK(n.counters().sent == 0);
    CHECK(n.counters().depth == 1);
    std::string metrics;
    n.appendMetrics(metrics);
    CHECK(metrics.find("hale_notifications_queue_depth 1\n") != std::string::npos);
  }
  // A new notifier on the same database (an aggregator restart) finds the queued item.
  notify::Notifier n(dir.file("agg.db"), settings);
  REQUIRE(test::waitFor(
      [&] {
        n.runOnce();
        return n.counters().sent == 1;
      },
      std::chrono::seconds(3)));
  n.runOnce();
  n.runOnce();
  const auto got = rx.got();
  REQUIRE(got.size() == 2);
  CHECK(got[0].body == got[1].body);
  CHECK(got[1].target == "/hook");
  for (const auto& g : got) CHECK(signatureOk(g));
  Receiver::Got forged = got[1];
  forged.body[5] ^= 1;
  CHECK_FALSE(signatureOk(forged));
  const json body = json::parse(got[1].body);
  CHECK(body["event"] == "remediation_failed");
  CHECK(body["node"] == "n1");
  CHECK(body["region"] == "eu");
  CHECK(body["check"] == "nginx");
  CHECK(body["issue"] == 7);
  CHECK(body["severity"] == "error");
  CHECK(body["message"].get<std::string>().find("exit 1") != std::string::npos);
  CHECK(body["time"].get<std::string>().ends_with("Z"));
  CHECK(body["link"] == "http://127.0.0.1:8080/api/v1/nodes/n1");
  CHECK(n.counters().depth == 0);
  // The same (event, node, check, issue) again is not a new notification.
  remediation(store, 3, wire::RemediationOutcome::Failed, "failed again");
  n.runOnce();
  CHECK(rx.got().size() == 2);
}

TEST_CASE("notifier: gives up after max_attempts and counts the failure") {
  test::TempDir dir;
  storage::Store store(dir.file("agg.db"));
  Receiver rx({500, 500, 500, 500});
  auto t = target("slack", rx.port(), {notify::Event::BreakerOpen});
  t.retry_initial = t.retry_cap = std::chrono::milliseconds(20);
  notify::Notifier n(dir.file("agg.db"), notify::Settings{{t}, "", std::chrono::milliseconds(20)});
  n.runOnce();
  remediation(store, 1, wire::RemediationOutcome::Skipped, "circuit breaker open");
  REQUIRE(test::waitFor(
      [&] {
        n.runOnce();
        return n.counters().failed == 1;
      },
      std::chrono::seconds(3)));
  CHECK(rx.got().size() == 3);
  CHECK(n.counters().sent == 0);
  const json body = json::parse(rx.got()[0].body);
  CHECK(body.size() == 1);  // Slack incoming-webhook shape
  CHECK(body["text"].get<std::string>().find("Circuit breaker open on n1 (eu) for nginx") != std::string::npos);
}

TEST_CASE("notifier: an unfixed critical issue and a region failover from the worker thread") {
  test::TempDir dir;
  storage::Store store(dir.file("agg.db"));
  Receiver rx({});
  storage::IngestItem item;
  item.node = "n2";
  item.region = "us";
  item.seq = 1;
  item.sent_at_ms = item.received_ms = unixMillisNow();
  wire::IssueRecord issue;
  issue.issue_id = 11;
  issue.check = "disk";
  issue.severity = wire::CheckStatus::Crit;
  issue.status = wire::CheckStatus::Crit;
  issue.message = "96% used";
  issue.opened_at_ms = unixMillisNow() - 20 * 60 * 1000;  // open 20 min: above unfixed_after
  item.issue = issue;
  store.ingest(std::span(&item, 1));
  item.seq = 2;
  item.issue->issue_id = 12;
  item.issue->check = "fresh";
  item.issue->opened_at_ms = unixMillisNow();  // too young to report
  store.ingest(std::span(&item, 1));

  notify::Notifier n(
      dir.file("agg.db"),
      notify::Settings{{target("webhook", rx.port(), {notify::Event::UnfixedCritical, notify::Event::RegionFailover})},
                       "",
                       std::chrono::milliseconds(20)});
  n.start();
  REQUIRE(test::waitFor([&] { return n.counters().sent == 1; }, std::chrono::seconds(3)));
  n.regionFailover("us", "eu", 4, "health below 70 for 3 windows");
  REQUIRE(test::waitFor([&] { return n.counters().sent == 2; }, std::chrono::seconds(3)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  n.stop();
  const auto got = rx.got();
  REQUIRE(got.size() == 2);
  const json a = json::parse(got[0].body), b = json::parse(got[1].body);
  CHECK(a["event"] == "unfixed_critical");
  CHECK(a["check"] == "disk");
  CHECK(a["issue"] == 11);
  CHECK(a["severity"] == "critical");
  CHECK(b["event"] == "region_failover");
  CHECK(b["region"] == "us");
  CHECK(b["issue"] == 4);
  CHECK(b["message"].get<std::string>().find("region us demoted, eu promoted (epoch 4)") != std::string::npos);
  for (const auto& g : got) CHECK(signatureOk(g));
}

TEST_CASE("notifier: delivers over https with mbedTLS verifying the receiver against ca_file") {
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
  auto t = target("webhook", port, {notify::Event::RegionFailover});
  t.url_text = fmt::format("https://localhost:{}/hook", port);
  t.url = *net::parseUrl(t.url_text);
  t.ca_file = dir.file("c.pem");
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
