// The real agent binary supervising a real child: kill it, watch the agent
// restart it through the engine (limiter, audit, telemetry in the path).
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;

namespace {

struct Start {
  int pid = 0;
  int64_t mono_ns = 0;
};

std::vector<Start> starts(const std::string& log) {
  std::vector<Start> out;
  std::ifstream in(log);
  Start s;
  while (in >> s.pid >> s.mono_ns) out.push_back(s);
  return out;
}

int64_t monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct SupervisedAgent {
  test::TempDir dir;
  std::string log = dir.file("starts.log");
  std::optional<test::Process> agent;

  explicit SupervisedAgent(const std::string& remediation) {
    const std::string config = fmt::format(
        "[agent]\nregion = \"r\"\nnode = \"n1\"\nstate_dir = \"{}\"\nheartbeat_interval = \"1h\"\n"
        "[remediation]\ncooldown = \"0s\"\nmax_attempts = 100\nresource_per_hour = 100\n{}\n"
        "[[check]]\nname = \"svc\"\nkind = \"process\"\nargv = [\"{}\", \"{}\"]\ninterval = \"10s\"\n"
        "fail_after = 1\npass_after = 1\n"
        "  [[check.remedy]]\n  action = \"restart\"\n  supervised = true\n  settle = \"20ms\"\n",
        dir.file("state"), remediation, test::binaryDir() + "/tests/hale_crash_child", log);
    test::writeFile(dir.file("agent.toml"), config);
    agent.emplace(
        std::vector<std::string>{test::binaryDir() + "/hale-agent", "run", "--config", dir.file("agent.toml")},
        dir.file("agent.log"));
    REQUIRE(test::waitFor([&] { return starts(log).size() == 1; }, 5s));
  }

  /// Kills the current child; returns the delay until the next start, or nullopt.
  std::optional<std::chrono::milliseconds> killAndWait(std::chrono::milliseconds timeout = 3s) {
    const auto before = starts(log);
    const int64_t killed = monoNs();
    ::kill(before.back().pid, SIGKILL);
    if (!test::waitFor([&] { return starts(log).size() > before.size(); }, timeout)) return std::nullopt;
    return std::chrono::milliseconds((starts(log).back().mono_ns - killed) / 1'000'000);
  }

  std::vector<state::AuditEntry> audit() {
    agent->stop();
    state::StateStore store(dir.file("state"));
    return state::AuditLog(store.db()).tail(1000);
  }
};

}  // namespace

TEST_CASE("remedy_supervised: a child killed repeatedly is restarted with growing delays, then the breaker opens") {
  SupervisedAgent a(
      "backoff_initial = \"100ms\"\nbackoff_cap = \"400ms\"\nbackoff_reset_after = \"5s\"\nbreaker_failures = 4\n");
  std::this_thread::sleep_for(200ms);
  std::vector<int64_t> delays;
  for (int i = 0; i < 3; ++i) {
    auto d = a.killAndWait();
    REQUIRE(d);
    delays.push_back(d->count());
    std::this_thread::sleep_for(100ms);
  }
  MESSAGE("restart delays (ms): " << delays[0] << ", " << delays[1] << ", " << delays[2]);
  CHECK(delays[0] >= 100);
  CHECK(delays[1] >= 200);
  CHECK(delays[2] >= 400);
  CHECK(delays[0] < delays[1]);
  CHECK(delays[1] < delays[2]);
  CHECK_FALSE(a.killAndWait(1500ms));  // the fourth quick crash opens the breaker: no restart
  const auto rows = a.audit();
  bool breaker = false;
  for (const auto& r : rows) breaker = breaker || r.detail.find("circuit breaker open") != std::string::npos;
  CHECK(breaker);
  state::StateStore store(a.dir.file("state"));
  CHECK(state::AuditLog(store.db()).verify().ok);
}

TEST_CASE("remedy_supervised: the backoff starts over after a stable run") {
  SupervisedAgent a("backoff_initial = \"100ms\"\nbackoff_cap = \"2s\"\nbackoff_reset_after = \"600ms\"\n");
  std::this_thread::sleep_for(100ms);
  auto first = a.killAndWait();
  REQUIRE(first);
  std::this_thread::sleep_for(50ms);
  auto second = a.killAndWait();
  REQUIRE(second);
  CHECK(second->count() >= 200);
  std::this_thread::sleep_for(900ms);  // stays up longer than backoff_reset_after
  auto third = a.killAndWait();
  REQUIRE(third);
  MESSAGE("delays (ms): " << first->count() << ", " << second->count() << ", after a stable run " << third->count());
  CHECK(third->count() >= 100);
  CHECK(third->count() < 200);
}
