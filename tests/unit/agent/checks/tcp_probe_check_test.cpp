#include "agent/checks/check.h"
#include "agent/checks/probe_window.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/check_harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

using hale::wire::CheckStatus;
using namespace hale::agent::checks;

namespace {

std::optional<double> metric(const Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

// A loopback listener on an ephemeral port; connections wait in its backlog.
struct Listener {
  int fd = -1;
  int port = 0;
  explicit Listener(int backlog = 16) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, backlog) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd); }
};

std::string tcpToml(int port, const std::string& extra = "") {
  return fmt::format("[[check]]\nname = \"tcp\"\nkind = \"tcp_probe\"\nendpoint = \"127.0.0.1:{}\"\n{}", port, extra);
}

}  // namespace

TEST_CASE("tcp_probe_check: latency window percentiles (nearest rank)") {
  const auto t0 = hale::MonoTime{} + std::chrono::hours(1);
  LatencyWindow w(std::chrono::minutes(5));
  CHECK_FALSE(w.percentile(50));
  for (int i = 100; i >= 1; --i) w.add(t0, i, true);
  w.add(t0, 5000, false);  // failures do not count as latencies
  CHECK(w.percentile(50) == 50);
  CHECK(w.percentile(95) == 95);
  CHECK(w.percentile(99) == 99);
  CHECK(w.percentile(100) == 100);
  CHECK(w.samples() == 101);
  CHECK(w.successes() == 100);
  w.add(t0 + std::chrono::minutes(4), 1, true);
  w.prune(t0 + std::chrono::minutes(6));  // everything but the last sample is older than 5m
  CHECK(w.samples() == 1);
  CHECK(w.percentile(99) == 1);
}

TEST_CASE("tcp_probe_check: an open port connects, a closed one is critical") {
  Listener listener;
  auto check = hale::test::checkFromToml(tcpToml(listener.port));
  CHECK(check->common().component == hale::wire::Component::Network);
  CHECK(check->blocking());
  const auto out = check->run();
  CHECK(out.status == CheckStatus::Ok);
  CHECK(out.message.find("connected in") != std::string::npos);
  CHECK(metric(out, "p50_ms"));
  CHECK(metric(out, "success_percent") == 100);

  const int closed = hale::test::freePort();
  const auto bad = hale::test::checkFromToml(tcpToml(closed))->run();
  CHECK(bad.status == CheckStatus::Crit);
  CHECK(bad.message.find("refused") != std::string::npos);
}

TEST_CASE("tcp_probe_check: a connect that hangs stops at the timeout") {
  // Linux drops SYNs while a listener's accept queue is full, so once the
  // backlog is taken by connections nobody accepts, the next connect hangs.
  Listener listener(0);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(listener.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = hale::test::checkFromToml(tcpToml(listener.port, "timeout = \"300ms\"\n"))->run();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  for (int fd : fillers) ::close(fd);
  INFO(out.message);
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("timed out") != std::string::npos);
  CHECK(elapsed < std::chrono::milliseconds(1000));
  CHECK(metric(out, "success_percent") == 0);
}

TEST_CASE("tcp_probe_check: SLO on success ratio and latency over the window") {
  Listener listener;
  hale::test::FakeClock clock;
  auto check = hale::test::checkFromToml(
      tcpToml(listener.port, "window = \"1m\"\nslo_min_samples = 3\nslo_p95_ms = 0.000001\n"), clock);
  CHECK(check->run().status == CheckStatus::Ok);  // too few samples to judge
  clock.advance(std::chrono::seconds(1));
  CHECK(check->run().status == CheckStatus::Ok);
  clock.advance(std::chrono::seconds(1));
  const auto out = check->run();
  CHECK(out.status == CheckStatus::Crit);  // no connect is faster than a nanosecond
  CHECK(out.message.find("SLO violated: p95") != std::string::npos);
  CHECK(out.message.find("over 1m") != std::string::npos);
  CHECK(metric(out, "slo_ok") == 0);
  clock.advance(std::chrono::minutes(2));  // the old samples leave the window
  const auto later = check->run();
  CHECK(later.status == CheckStatus::Ok);
  CHECK(metric(later, "samples") == 1);
}

TEST_CASE("tcp_probe_check: rejects bad config") {
  using hale::test::configErrorOf;
  SUBCASE("missing endpoint") {
    const auto err = configErrorOf("[[check]]\nname = \"tcp\"\nkind = \"tcp_probe\"\n");
    CHECK(err.find("checks.toml:1:") == 0);
    CHECK(err.find("missing required key 'endpoint'") != std::string::npos);
  }
  SUBCASE("port out of range") {
    const auto err = configErrorOf("[[check]]\nname = \"tcp\"\nkind = \"tcp_probe\"\nendpoint = \"db:70000\"\n");
    CHECK(err.find("checks.toml:4:") == 0);
    CHECK(err.find("key 'endpoint' in check 'tcp'") != std::string::npos);
    CHECK(err.find("port in 1..65535") != std::string::npos);
  }
  SUBCASE("negative SLO") {
    const auto err = configErrorOf(tcpToml(80, "slo_p95_ms = -1\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("key 'slo_p95_ms' in check 'tcp': must be positive") != std::string::npos);
  }
  SUBCASE("malformed window") {
    const auto err = configErrorOf(tcpToml(80, "window = \"five minutes\"\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("key 'window'") != std::string::npos);
  }
}
