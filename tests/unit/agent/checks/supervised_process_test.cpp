#include "agent/checks/check.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <fstream>

using namespace hale;
using namespace hale::agent::checks;
using namespace std::chrono_literals;

namespace {
CheckPtr supervised(const std::string& name, const std::string& log, const std::string& mode) {
  const std::string text = "name = \"" + name + "\"\nkind = \"process\"\nargv = [\"" + test::binaryDir() +
                           "/tests/hale_crash_child\", \"" + log + "\", \"" + mode + "\"]\ncrash_loop_exits = 2\n";
  const auto table = config::parseText(text, "check.toml");
  return makeCheck(table, "check.toml", {RealClock::instance(), "/tmp"});
}

int firstPid(const std::string& log) {
  std::ifstream in(log);
  int pid = 0;
  in >> pid;
  return pid;
}
}  // namespace

TEST_CASE("process_check: a supervised child's exit is seen at once, with its code, and a crash loop") {
  test::TempDir dir;
  asio::io_context io;
  auto check = supervised("sup-exit", dir.file("log"), "exit");
  int triggers = 0;
  check->watch(io, [&] { ++triggers; });
  const auto start = std::chrono::steady_clock::now();
  while (triggers == 0 && std::chrono::steady_clock::now() - start < 5s) io.run_for(10ms);
  REQUIRE(triggers == 1);
  auto out = check->run();
  CHECK(out.status == wire::CheckStatus::Crit);
  CHECK(out.message.find("exited with code 3") != std::string::npos);
  CHECK(out.message.find("crash loop") == std::string::npos);
}

TEST_CASE("process_check: a supervised child killed by a signal reports the signal") {
  test::TempDir dir;
  asio::io_context io;
  auto check = supervised("sup-signal", dir.file("log"), "wait");
  int triggers = 0;
  check->watch(io, [&] { ++triggers; });
  REQUIRE(test::waitFor([&] { return firstPid(dir.file("log")) > 0; }, 5s));
  CHECK(check->run().status == wire::CheckStatus::Ok);
  ::kill(firstPid(dir.file("log")), SIGKILL);
  const auto start = std::chrono::steady_clock::now();
  while (triggers == 0 && std::chrono::steady_clock::now() - start < 5s) io.run_for(10ms);
  REQUIRE(triggers == 1);
  const auto out = check->run();
  CHECK(out.status == wire::CheckStatus::Crit);
  CHECK(out.message.find("killed by signal 9") != std::string::npos);
}

TEST_CASE("process_check: rejects a relative supervised argv") {
  const auto table = config::parseText("name = \"x\"\nkind = \"process\"\nargv = [\"worker\"]\n", "c.toml");
  CHECK_THROWS_WITH_AS(makeCheck(table, "c.toml", {RealClock::instance(), "/tmp"}),
                       doctest::Contains("argv[0] must be an absolute path"), config::ConfigError);
}
