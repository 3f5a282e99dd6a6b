#include "agent/checks/check.h"
#include "agent/platform/process_table.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>

using namespace hale;
using namespace hale::agent;

namespace {
const std::string kProc = test::sourceDir() + "/tests/fixtures/proc";

// A forked test::Process still runs the test binary (and its signal handlers)
// until it has exec'd: signal it only once it is the program it should be.
std::unique_ptr<test::Process> startSleep(const test::TempDir& dir) {
  auto p = std::make_unique<test::Process>(std::vector<std::string>{"/bin/sleep", "30"}, dir.file("log"));
  const std::string comm = "/proc/" + std::to_string(p->pid()) + "/comm";
  REQUIRE(test::waitFor([&] { return test::readFile(comm) == "sleep\n"; }, std::chrono::seconds(10)));
  return p;
}

checks::CheckPtr fromToml(const std::string& body) {
  auto root = config::parseText("[[check]]\nname = \"p\"\nkind = \"process\"\n" + body, "agent.toml");
  checks::CheckEnv env{RealClock::instance(), "/tmp"};
  return checks::makeCheck(*root["check"].as_array()->front().as_table(), "agent.toml", env);
}
}  // namespace

TEST_CASE("process_check: /proc/<pid>/stat parsing survives odd command names") {
  auto info = platform::parseProcStat(test::readFile(kProc + "/200/stat"));
  REQUIRE(info.has_value());
  CHECK(info->pid == 200);
  CHECK(info->comm == "evil) name)");
  CHECK(info->state == 'Z');
  CHECK(info->ppid == 100);
  CHECK_FALSE(platform::parseProcStat("").has_value());
  CHECK_FALSE(platform::parseProcStat("12 (x) S").has_value());
  CHECK_FALSE(platform::parseProcStat("garbage ) ( 1 2 3").has_value());
}

TEST_CASE("process_check: finds processes by name and command line in a fixture tree") {
  auto by_name = fromToml("match_name = \"nginx\"\nproc_root = \"" + kProc + "\"\n");
  auto out = by_name->run();
  CHECK(out.status == checks::CheckStatus::Ok);
  CHECK(out.message.find("pid 100") != std::string::npos);

  auto by_cmdline = fromToml("match_cmdline = \"/srv/app.py\"\nproc_root = \"" + kProc + "\"\n");
  CHECK(by_cmdline->run().status == checks::CheckStatus::Ok);

  // A zombie does not count as running.
  auto zombie = fromToml("match_name = \"evil) name)\"\nproc_root = \"" + kProc + "\"\n");
  CHECK(zombie->run().status == checks::CheckStatus::Crit);

  auto missing = fromToml("match_name = \"postgres\"\nproc_root = \"" + kProc + "\"\n");
  auto miss = missing->run();
  CHECK(miss.status == checks::CheckStatus::Crit);
  CHECK(miss.message.find("0 running") != std::string::npos);
}

TEST_CASE("process_check: memory thresholds over all matches") {
  // nginx has 2560 resident pages in the fixture: 10 MiB with 4 KiB pages.
  const double mib = 2560.0 * double(::sysconf(_SC_PAGESIZE)) / (1024 * 1024);
  auto check =
      fromToml("match_name = \"nginx\"\nproc_root = \"" + kProc + "\"\nrss_warn_mb = " + std::to_string(mib - 1) +
               "\nrss_crit_mb = " + std::to_string(mib + 1) + "\n");
  CHECK(check->run().status == checks::CheckStatus::Warn);
}

TEST_CASE("process_check: a pidfile of the real /proc") {
  test::TempDir dir;
  test::writeFile(dir.file("self.pid"), std::to_string(::getpid()) + "\n");
  CHECK(fromToml("pidfile = \"" + dir.file("self.pid") + "\"\n")->run().status == checks::CheckStatus::Ok);
  test::writeFile(dir.file("gone.pid"), "999999999\n");
  CHECK(fromToml("pidfile = \"" + dir.file("gone.pid") + "\"\n")->run().status == checks::CheckStatus::Crit);
  auto none = fromToml("pidfile = \"" + dir.file("absent.pid") + "\"\n")->run();
  CHECK(none.status == checks::CheckStatus::Crit);
  CHECK(none.message.find("missing") != std::string::npos);
}

TEST_CASE("process_check: rejects bad config with the key and its line") {
  std::string err;
  try {
    (void)fromToml("pidfile = \"/x\"\nmatch_name = \"y\"\n");
  } catch (const config::ConfigError& e) {
    err = e.what();
  }
  CHECK(err.find("agent.toml:4:") == 0);
  CHECK(err.find("exactly one of pidfile, match_name, match_cmdline") != std::string::npos);
  try {
    (void)fromToml("match_name = 3\n");
  } catch (const config::ConfigError& e) {
    err = e.what();
  }
  CHECK(err.find("key 'match_name'") != std::string::npos);
  CHECK(err.find("expected string, got integer") != std::string::npos);
}

TEST_CASE("process_check: a kept-open /proc file follows its process, not its pid number") {
  test::TempDir dir;
  platform::ProcFsTable table("/proc", false);
  auto child = startSleep(dir);
  const pid_t pid = child->pid();
  auto first = table.get(pid);
  REQUIRE(first.has_value());
  CHECK(first->comm == "sleep");
  auto again = table.get(pid);  // re-read through the open descriptor
  REQUIRE(again.has_value());
  CHECK(again->start_ticks == first->start_ticks);
  child->stop(9);  // killed and reaped
  CHECK_FALSE(table.get(pid).has_value());
}

TEST_CASE("process_check: a pidfile rewritten by a restart is followed") {
  test::TempDir dir;
  const std::string path = dir.file("d.pid");
  test::writeFile(path, "111\n");
  platform::PidFileReader reader(path);
  CHECK(reader.read(false) == 111);
  CHECK(reader.read(false) == 111);  // unchanged: not read again
  test::writeFile(path, "22222\n");  // other size
  CHECK(reader.read(false) == 22222);
  // The same size, maybe within one timestamp tick: a gone pid forces a re-read.
  test::writeFile(path, "33333\n");
  CHECK(reader.read(true) == 33333);
  std::filesystem::remove(path);
  CHECK_FALSE(reader.read(false).has_value());
  test::writeFile(path, "444\n");
  CHECK(reader.read(false) == 444);
}

TEST_CASE("process_check: a daemon restarted under the same pidfile is seen running again") {
  test::TempDir dir;
  const std::string pidfile = dir.file("d.pid");
  auto first = startSleep(dir);
  test::writeFile(pidfile, std::to_string(first->pid()) + "\n");
  auto check = fromToml("pidfile = \"" + pidfile + "\"\n");
  CHECK(check->run().status == checks::CheckStatus::Ok);
  first->stop(9);
  CHECK(check->run().status == checks::CheckStatus::Crit);
  auto second = startSleep(dir);
  test::writeFile(pidfile, std::to_string(second->pid()) + "\n");
  auto out = check->run();
  CHECK(out.status == checks::CheckStatus::Ok);
  CHECK(out.message.find("pid " + std::to_string(second->pid())) != std::string::npos);
}
