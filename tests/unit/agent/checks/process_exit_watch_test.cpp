// Event-driven exit detection for processes the agent did not start: the
// scheduler runs a process check every 30 s, yet a SIGKILL of the process
// found by pidfile or by command line is reported within milliseconds, because
// the check watches a pidfd armed after each run.
#include "agent/checks/check.h"
#include "agent/core/scheduler.h"
#include "agent/platform/pid_watch.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <memory>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;

namespace {
checks::CheckPtr processCheck(const std::string& body) {
  auto root =
      config::parseText("[[check]]\nname = \"watched\"\nkind = \"process\"\ninterval = \"30s\"\n" + body, "agent.toml");
  checks::CheckEnv env{RealClock::instance(), "/tmp"};
  return checks::makeCheck(*root["check"].as_array()->front().as_table(), "agent.toml", env);
}

std::vector<std::string> crashChild(const test::TempDir& dir, const std::string& log) {
  return {test::binaryDir() + "/tests/hale_crash_child", dir.file(log)};
}

// Runs the loop until `done` holds or `timeout` passes.
bool runUntil(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  while (!done() && std::chrono::steady_clock::now() - start < timeout) io.run_for(5ms);
  return done();
}

std::string pidLogged(const std::string& log) {
  std::ifstream in(log);
  std::string pid;
  in >> pid;
  return pid;
}

// Children started so far: each appends one line to the log.
long starts(const std::string& log) {
  const auto text = test::readFile(log);
  return std::count(text.begin(), text.end(), '\n');
}
}  // namespace

TEST_CASE("process_check: a pidfile process killed with SIGKILL is reported crit long before its interval") {
  test::TempDir dir;
  test::Process child(crashChild(dir, "starts"), dir.file("child.out"));
  REQUIRE(test::waitFor([&] { return !pidLogged(dir.file("starts")).empty(); }, 5s));
  test::writeFile(dir.file("app.pid"), std::to_string(child.pid()) + "\n");

  asio::io_context io;
  std::vector<checks::CheckPtr> checks;
  checks.push_back(processCheck("pidfile = \"" + dir.file("app.pid") + "\"\n"));
  std::vector<wire::ResultRecord> results;
  Scheduler scheduler(
      io, checks, [&](const wire::ResultRecord& r) { results.push_back(r); }, 1);
  scheduler.start();
  REQUIRE(runUntil(
      io, [&] { return !results.empty(); }, 5s));
  REQUIRE(results.back().status == wire::CheckStatus::Ok);

  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(child.stop(SIGKILL).has_value());
  REQUIRE(runUntil(
      io, [&] { return results.size() >= 2; }, 5s));
  const auto seen = std::chrono::steady_clock::now() - killed;
  CHECK(results.back().status == wire::CheckStatus::Crit);
  CHECK(seen < 5s);  // the interval is 30 s: only the pidfd can have woken the check
  MESSAGE("pidfile exit seen after " << std::chrono::duration_cast<std::chrono::microseconds>(seen).count() << " us");
  scheduler.stop();
}

TEST_CASE("process_check: every process matched by command line is watched, and a restarted one is re-armed") {
  test::TempDir dir;
  test::Process first(crashChild(dir, "starts"), dir.file("first.out"));
  test::Process second(crashChild(dir, "starts"), dir.file("second.out"));
  REQUIRE(test::waitFor([&] { return starts(dir.file("starts")) == 2; }, 5s));

  asio::io_context io;
  std::vector<checks::CheckPtr> checks;
  checks.push_back(processCheck("match_cmdline = \"" + dir.file("starts") + "\"\nmin_count = 2\n"));
  std::vector<wire::ResultRecord> results;
  Scheduler scheduler(
      io, checks, [&](const wire::ResultRecord& r) { results.push_back(r); }, 1);
  scheduler.start();
  REQUIRE(runUntil(
      io, [&] { return !results.empty(); }, 5s));
  REQUIRE(results.back().status == wire::CheckStatus::Ok);

  // The second match, not the first one the pid metric names, dies.
  REQUIRE(second.stop(SIGKILL).has_value());
  REQUIRE(runUntil(
      io, [&] { return results.size() >= 2; }, 5s));
  CHECK(results.back().status == wire::CheckStatus::Crit);

  // A replacement is found at the next run (here asked for by hand), then its exit is seen at once too.
  test::Process third(crashChild(dir, "starts"), dir.file("third.out"));
  REQUIRE(test::waitFor([&] { return starts(dir.file("starts")) == 3; }, 5s));
  scheduler.runNow(0);
  REQUIRE(runUntil(
      io, [&] { return results.size() >= 3; }, 5s));
  REQUIRE(results.back().status == wire::CheckStatus::Ok);
  REQUIRE(third.stop(SIGKILL).has_value());
  REQUIRE(runUntil(
      io, [&] { return results.size() >= 4; }, 5s));
  CHECK(results.back().status == wire::CheckStatus::Crit);
  scheduler.stop();
}

TEST_CASE("pid_watch: fires once on exit, never after it is destroyed, and reports a pid that is gone") {
  test::TempDir dir;
  asio::io_context io;
  test::Process a(crashChild(dir, "a"), dir.file("a.out"));
  test::Process b(crashChild(dir, "b"), dir.file("b.out"));
  int a_exits = 0, b_exits = 0;
  auto wa = agent::platform::PidWatch::open(io, a.pid(), [&] { ++a_exits; });
  auto wb = agent::platform::PidWatch::open(io, b.pid(), [&] { ++b_exits; });
  REQUIRE(wa.ok());
  REQUIRE(wb.ok());
  CHECK((*wa)->pid() == a.pid());
  wb->reset();  // no longer watched
  REQUIRE(a.stop(SIGKILL).has_value());
  REQUIRE(b.stop(SIGKILL).has_value());
  CHECK(runUntil(
      io, [&] { return a_exits > 0; }, 5s));
  io.run_for(50ms);
  CHECK(a_exits == 1);
  CHECK(b_exits == 0);

  const int gone = a.pid();  // reaped by stop()
  auto again = agent::platform::PidWatch::open(io, gone, [] {});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ESRCH);
}
