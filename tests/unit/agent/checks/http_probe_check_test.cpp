#include "agent/checks/check.h"
#include "shared/net/http_client.h"
#include "tests/support/check_harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using hale::wire::CheckStatus;
using namespace hale::agent::checks;
namespace net = hale::net;

namespace {

// A one-thread HTTP server on 127.0.0.1:<ephemeral> that answers every request
// after `delay_ms`, so latency percentiles and SLOs can be tested for real.
class TinyHttpServer {
 public:
  std::atomic<int> delay_ms{0};
  std::atomic<int> status{200};
  std::atomic<int> requests{0};
  std::string body = "hello from hale";

  TinyHttpServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~TinyHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "/health") const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string request;
      char buf[2048];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      ++requests;
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      const std::string response =
          fmt::format("HTTP/1.1 {} Whatever\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{}", status.load(),
                      body.size(), body);
      (void)::send(c, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string httpToml(const std::string& url, const std::string& extra = "") {
  return fmt::format("[[check]]\nname = \"web\"\nkind = \"http_probe\"\nurl = \"{}\"\n{}", url, extra);
}

std::optional<double> metric(const Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("http_probe_check: URL and response head parsing") {
  auto u = net::parseUrl("https://api.example.com/healthz?x=1#frag");
  REQUIRE(u);
  CHECK(u->https);
  CHECK(u->host == "api.example.com");
  CHECK(u->port == 443);
  CHECK(u->target == "/healthz?x=1");
  auto v = net::parseUrl("http://[::1]:8080");
  REQUIRE(v);
  CHECK(v->host == "::1");
  CHECK(v->port == 8080);
  CHECK(v->target == "/");
  for (const char* bad : {"ftp://x", "http://", "http://h:0/", "http://u@h/", "http://h/a b", "example.com"}) {
    CAPTURE(bad);
    CHECK_FALSE(net::parseUrl(bad));
  }
  auto partial = net::parseResponseHead("HTTP/1.1 200 OK\r\nContent-Len");
  REQUIRE(partial);
  CHECK_FALSE(*partial);
  auto head = net::parseResponseHead("HTTP/1.1 503 Unavailable\r\ncontent-length: 12\r\n\r\nbody");
  REQUIRE(head);
  REQUIRE(*head);
  CHECK((*head)->status == 503);
  CHECK((*head)->content_length == 12);
  auto chunked = net::parseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE(chunked);
  CHECK((**chunked).chunked);
  CHECK_FALSE(net::parseResponseHead("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
  CHECK_FALSE(net::parseResponseHead("HTTP/1.1 abc\r\n\r\n"));
  CHECK_FALSE(net::parseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"));
}

TEST_CASE("http_probe_check: status, body and latency against a local server") {
  TinyHttpServer server;
  SUBCASE("200 as expected") {
    const auto out = hale::test::checkFromToml(httpToml(server.url(), "body_contains = \"hale\"\n"))->run();
    INFO(out.message);
    CHECK(out.status == CheckStatus::Ok);
    CHECK(metric(out, "status_code") == 200);
    CHECK(metric(out, "p95_ms"));
  }
  SUBCASE("unexpected status") {
    server.status = 503;
    const auto out = hale::test::checkFromToml(httpToml(server.url()))->run();
    CHECK(out.status == CheckStatus::Crit);
    CHECK(out.message.find("503") != std::string::npos);
    CHECK(out.message.find("expected 200") != std::string::npos);
  }
  SUBCASE("body lacks the text") {
    const auto out = hale::test::checkFromToml(httpToml(server.url(), "body_contains = \"ready\"\n"))->run();
    CHECK(out.status == CheckStatus::Crit);
    CHECK(out.message.find("body lacks \"ready\"") != std::string::npos);
  }
  SUBCASE("a reply slower than the timeout") {
    server.delay_ms = 600;
    const auto t0 = std::chrono::steady_clock::now();
    const auto out = hale::test::checkFromToml(httpToml(server.url(), "timeout = \"200ms\"\n"))->run();
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(out.message.find("timed out") != std::string::npos);
  }
}

TEST_CASE("http_probe_check: injected latency violates the p95 SLO") {
  TinyHttpServer server;
  auto check =
      hale::test::checkFromToml(httpToml(server.url(), "window = \"5m\"\nslo_p95_ms = 100\nslo_min_samples = 3\n"));
  for (int i = 0; i < 4; ++i) {
    const auto out = check->run();
    CHECK(out.status == CheckStatus::Ok);
  }
  server.delay_ms = 150;
  const auto slow = check->run();  // 5 samples: nearest-rank p95 is the slowest
  INFO(slow.message);
  CHECK(slow.status == CheckStatus::Crit);
  CHECK(metric(slow, "p95_ms").value_or(0) >= 150);
  CHECK(metric(slow, "p50_ms").value_or(1000) < 100);
  CHECK(slow.message.find("SLO violated: p95") != std::string::npos);
  CHECK(server.requests == 5);
}

TEST_CASE("http_probe_check: HTTPS through the shared TLS client") {
  hale::test::TempDir dir;
  auto selfSigned = [&](const std::string& name, const std::string& cn) {
    return hale::test::runCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                   "-nodes", "-keyout", dir.file(name + ".key"), "-out", dir.file(name + ".pem"),
                                   "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:" + cn, "-days", "30"});
  };
  REQUIRE(selfSigned("c", "localhost") == 0);
  REQUIRE(selfSigned("other", "other") == 0);
  const uint16_t port = hale::test::freePort();
  hale::test::Process server({"openssl", "s_server", "-accept", fmt::format("127.0.0.1:{}", port), "-cert",
                              dir.file("c.pem"), "-key", dir.file("c.key"), "-www"},
                             "/dev/null");
  REQUIRE(hale::test::waitFor([&] { return hale::test::portAcceptsConnections(port); }, std::chrono::seconds(5)));
  const std::string url = fmt::format("https://localhost:{}/", port);
  SUBCASE("trusted by ca_file") {
    const auto out =
        hale::test::checkFromToml(httpToml(url, fmt::format("ca_file = \"{}\"\n", dir.file("c.pem"))))->run();
    INFO(out.message);
    CHECK(out.status == CheckStatus::Ok);
    CHECK(metric(out, "status_code") == 200);
  }
  SUBCASE("untrusted server is refused") {
    const auto out =
        hale::test::checkFromToml(httpToml(url, fmt::format("ca_file = \"{}\"\n", dir.file("other.pem"))))->run();
    CHECK(out.status == CheckStatus::Crit);
    CHECK(out.message.find("certificate not accepted") != std::string::npos);
  }
  SUBCASE("tls_verify = false accepts it") {
    const auto out = hale::test::checkFromToml(httpToml(url, "tls_verify = false\n"))->run();
    CHECK(out.status == CheckStatus::Ok);
  }
}

TEST_CASE("http_probe_check: rejects bad config") {
  using hale::test::configErrorOf;
  SUBCASE("not a URL") {
    const auto err = configErrorOf(httpToml("example.com/health"));
    CHECK(err.find("checks.toml:4:") == 0);
    CHECK(err.find("key 'url' in check 'web'") != std::string::npos);
    CHECK(err.find("expected a URL starting with http:// or https://") != std::string::npos);
  }
  SUBCASE("impossible status") {
    const auto err = configErrorOf(httpToml("http://h/", "expect_status = 42\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("key 'expect_status' in check 'web': expected 100..599") != std::string::npos);
  }
  SUBCASE("missing url") {
    const auto err = configErrorOf("[[check]]\nname = \"web\"\nkind = \"http_probe\"\n");
    CHECK(err.find("missing required key 'url'") != std::string::npos);
  }
}
