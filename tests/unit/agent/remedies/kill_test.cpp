#include "agent/remedies/remedy.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>

using namespace hale;
using namespace hale::agent;

namespace {
remedies::Plan killPlan(const std::string& body) {
  const auto root = config::parseText("[[remedy]]\naction = \"kill\"\n" + body, "kill.toml");
  return remedies::parsePlan(*root.get("remedy"), "kill.toml", "worker", {RealClock::instance(), "/tmp"});
}

/// A real process to signal: /bin/sleep, started with posix_spawn (exec'd before we signal it).
pid_t spawnSleeper() {
  pid_t pid = -1;
  const char* argv[] = {"/bin/sleep", "60", nullptr};
  REQUIRE(::posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char* const*>(argv), environ) == 0);
  return pid;
}

int reap(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}
}  // namespace

TEST_CASE("remedy_kill: sends the configured signal to the pid in the pidfile") {
  test::TempDir dir;
  for (const auto& [name, signal] : {std::pair{"TERM", SIGTERM}, std::pair{"KILL", SIGKILL}, std::pair{"9", SIGKILL}}) {
    CAPTURE(name);
    const pid_t pid = spawnSleeper();
    test::writeFile(dir.file("worker.pid"), std::to_string(pid) + "\n");
    auto plan = killPlan("pidfile = \"" + dir.file("worker.pid") + "\"\nsignal = \"" + name + "\"\n");
    const auto r = plan.steps[0].impl->execute({});
    CHECK(r.ok);
    CHECK(r.detail == "sent signal " + std::to_string(signal) + " to pid " + std::to_string(pid));
    const int status = reap(pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == signal);
    CHECK(plan.steps[0].impl->resource() == dir.file("worker.pid"));
  }
}

TEST_CASE("remedy_kill: a missing, empty or dangerous pidfile signals nothing and says why") {
  test::TempDir dir;
  auto missing = killPlan("pidfile = \"" + dir.file("none.pid") + "\"\n");
  auto r = missing.steps[0].impl->execute({});
  CHECK_FALSE(r.ok);
  CHECK(r.detail == dir.file("none.pid") + ": no valid pid");
  // pid 1 (init) and garbage are never signalled.
  for (const char* content : {"1\n", "0\n", "-5\n", "not a pid\n", ""}) {
    CAPTURE(content);
    test::writeFile(dir.file("bad.pid"), content);
    auto bad = killPlan("pidfile = \"" + dir.file("bad.pid") + "\"\n");
    r = bad.steps[0].impl->execute({});
    CHECK_FALSE(r.ok);
    CHECK(r.detail.find("no valid pid") != std::string::npos);
  }
}

TEST_CASE("remedy_kill: a process already gone is reported, not counted as done") {
  test::TempDir dir;
  const pid_t pid = spawnSleeper();
  REQUIRE(::kill(pid, SIGKILL) == 0);
  reap(pid);  // the pid is free now (reuse within this test is practically impossible)
  test::writeFile(dir.file("gone.pid"), std::to_string(pid) + "\n");
  auto plan = killPlan("pidfile = \"" + dir.file("gone.pid") + "\"\n");
  const auto r = plan.steps[0].impl->execute({});
  CHECK_FALSE(r.ok);
  CHECK(r.detail.find("No such process") != std::string::npos);
}

TEST_CASE("remedy_kill: rejects an unknown signal or a missing pidfile key with file:line:col") {
  auto message = [](const std::string& body) {
    try {
      (void)killPlan(body);
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto unknown = message("pidfile = \"/run/x.pid\"\nsignal = \"SIGNOPE\"\n");
  CHECK(unknown.find("kill.toml:") == 0);
  CHECK(unknown.find("unknown signal") != std::string::npos);
  CHECK(message("signal = \"TERM\"\n").find("pidfile") != std::string::npos);
}
