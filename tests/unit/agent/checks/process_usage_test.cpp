// process check: CPU share, zombies and OOM kills, on fixture trees (proc_root,
// cgroup_root) with a fake clock, and on the real /proc.
#include "agent/checks/check.h"
#include "agent/platform/cgroup.h"
#include "tests/support/check_harness.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"
#include "tests/support/skip.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <time.h>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;

namespace {
const std::string kProc = test::sourceDir() + "/tests/fixtures/proc";

std::optional<double> metricOf(const checks::Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

std::string check(const std::string& body) { return "[[check]]\nname = \"p\"\nkind = \"process\"\n" + body; }

// nginx (pid 100) of the fixture with its utime and start time replaced.
void writeNginxStat(const std::string& root, uint64_t utime, uint64_t start = 5000) {
  test::writeFile(root + "/100/stat", "100 (nginx) S 1 100 100 0 -1 4194560 1000 0 0 0 " + std::to_string(utime) +
                                          " 50 0 0 20 0 1 0 " + std::to_string(start) +
                                          " 100000000 2560 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 "
                                          "0 0\n");
}

int firstPid(const std::string& log) {
  std::ifstream in(log);
  int pid = 0;
  in >> pid;
  return pid;
}

checks::Outcome runUntilExit(checks::Check& c, asio::io_context& io, int& triggers) {
  const auto start = std::chrono::steady_clock::now();
  while (triggers == 0 && std::chrono::steady_clock::now() - start < 5s) io.run_for(10ms);
  REQUIRE(triggers == 1);
  return c.run();
}
}  // namespace

TEST_CASE("process_check: CPU percent over the interval from a fixture tree") {
  test::TempDir dir;
  std::filesystem::copy(kProc, dir.file("proc"), std::filesystem::copy_options::recursive);
  const std::string root = dir.file("proc");
  test::FakeClock clock;
  auto c = test::checkFromToml(
      check("match_name = \"nginx\"\nproc_root = \"" + root + "\"\ncpu_warn_percent = 40\ncpu_crit_percent = 60\n"),
      clock);
  auto first = c->run();
  CHECK_FALSE(metricOf(first, "cpu_percent").has_value());  // nothing to compare with yet
  CHECK(first.status == checks::CheckStatus::Ok);

  // 100 more ticks (1 s of CPU at USER_HZ 100) in 2 s of wall time: 50%.
  writeNginxStat(root, 250);
  clock.advance(2s);
  auto busy = c->run();
  INFO(busy.message);
  REQUIRE(metricOf(busy, "cpu_percent").has_value());
  CHECK(*metricOf(busy, "cpu_percent") == doctest::Approx(100.0 * 100 / double(::sysconf(_SC_CLK_TCK)) / 2));
  if (::sysconf(_SC_CLK_TCK) == 100) {
    CHECK(busy.status == checks::CheckStatus::Warn);
    CHECK(busy.message.find("cpu 50.0%") != std::string::npos);
  }

  // Idle for 10 s: 0%.
  clock.advance(10s);
  auto idle = c->run();
  CHECK(*metricOf(idle, "cpu_percent") == doctest::Approx(0.0));
  CHECK(idle.status == checks::CheckStatus::Ok);

  // The pid was reused by a new process (another start time): not compared with the old one.
  writeNginxStat(root, 10, 9000);
  clock.advance(1s);
  CHECK_FALSE(metricOf(c->run(), "cpu_percent").has_value());
}

TEST_CASE("process_check: zombies among the matches and their children") {
  // 200 is a zombie child of nginx (100) in the fixture: task/100/children lists it.
  auto by_name =
      test::checkFromToml(check("match_name = \"nginx\"\nproc_root = \"" + kProc + "\"\nzombies_warn = 1\n"));
  auto out = by_name->run();
  INFO(out.message);
  CHECK(*metricOf(out, "zombies") == 1);
  CHECK(out.status == checks::CheckStatus::Warn);
  CHECK(out.message.find("1 zombies") != std::string::npos);

  auto lenient =
      test::checkFromToml(check("match_name = \"nginx\"\nproc_root = \"" + kProc + "\"\nzombies_warn = 2\n"));
  CHECK(lenient->run().status == checks::CheckStatus::Ok);

  // A process matched by name that is itself a zombie counts as a zombie, not as running.
  auto zombie = test::checkFromToml(check("match_name = \"evil) name)\"\nproc_root = \"" + kProc + "\"\n"));
  auto z = zombie->run();
  CHECK(z.status == checks::CheckStatus::Crit);
  CHECK(*metricOf(z, "zombies") == 1);
  CHECK(*metricOf(z, "count") == 0);

  test::TempDir dir;
  test::writeFile(dir.file("z.pid"), "200\n");
  auto by_pidfile =
      test::checkFromToml(check("pidfile = \"" + dir.file("z.pid") + "\"\nproc_root = \"" + kProc + "\"\n"));
  auto p = by_pidfile->run();
  CHECK(p.status == checks::CheckStatus::Crit);
  CHECK(*metricOf(p, "zombies") == 1);

  auto python = test::checkFromToml(check("match_cmdline = \"/srv/app.py\"\nproc_root = \"" + kProc + "\"\n"));
  CHECK(*metricOf(python->run(), "zombies") == 0);
}

TEST_CASE("process_check: CPU percent of the test process on the real /proc") {
  test::TempDir dir;
  test::writeFile(dir.file("self.pid"), std::to_string(::getpid()) + "\n");
  auto c = test::checkFromToml(check("pidfile = \"" + dir.file("self.pid") + "\"\ncpu_warn_percent = 1\n"));
  auto cpuNow = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
  };
  (void)c->run();
  const double cpu0 = cpuNow();
  const auto wall0 = std::chrono::steady_clock::now();
  // Burn 300 ms of CPU time, however long a shared machine makes that take.
  volatile uint64_t x = 0;
  while (cpuNow() - cpu0 < 0.3) x = x + 1;
  auto out = c->run();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double expected = 100.0 * (cpuNow() - cpu0) / wall;
  INFO(out.message);
  INFO("expected about " << expected << "% over " << wall << " s");
  REQUIRE(metricOf(out, "cpu_percent").has_value());
  // Ticks are 10 ms: allow two of them over the interval, plus a little.
  CHECK(std::abs(*metricOf(out, "cpu_percent") - expected) < 100.0 * 0.02 / wall + 5);
  CHECK(out.status == checks::CheckStatus::Warn);
  CHECK(*metricOf(out, "zombies") == 0);
}

TEST_CASE("process_check: a supervised child that leaves a zombie, on the real /proc") {
  test::TempDir dir;
  asio::io_context io;
  auto c =
      test::checkFromToml("[[check]]\nname = \"sup-zombie\"\nkind = \"process\"\nargv = [\"" + test::binaryDir() +
                          "/tests/hale_crash_child\", \"" + dir.file("log") + "\", \"zombie\"]\nzombies_warn = 1\n");
  c->watch(io, [] {});
  REQUIRE(test::waitFor([&] { return firstPid(dir.file("log")) > 0; }, 5s));
  checks::Outcome out;
  // The fork happens just after the log line.
  REQUIRE(test::waitFor(
      [&] {
        out = c->run();
        return metricOf(out, "zombies").value_or(0) == 1;
      },
      5s));
  CHECK(out.status == checks::CheckStatus::Warn);
  CHECK(out.message.find("1 zombies") != std::string::npos);
  (void)c->run();
  CHECK(metricOf(c->run(), "cpu_percent").has_value());
}

TEST_CASE("process_check: cgroup OOM counters are found for v1 and v2") {
  const auto files =
      platform::oomCounterFiles("12:pids:/x\n4:memory,cpu:/docker/abc\n0::/system.slice/a.service\n", "/cg");
  REQUIRE(files.size() == 2);
  CHECK(files[0] == "/cg/system.slice/a.service/memory.events");
  CHECK(files[1] == "/cg/memory/docker/abc/memory.oom_control");
  CHECK(platform::oomCounterFiles("0::/\n", "/cg").front() == "/cg/memory.events");
  CHECK(platform::oomCounterFiles("0::/../../etc\n", "/cg").empty());
  CHECK(platform::parseOomKill("low 0\nhigh 0\nmax 2\noom 1\noom_kill 7\noom_group_kill 0\n") == 7);
  CHECK(platform::parseOomKill("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") == 3);
  CHECK_FALSE(platform::parseOomKill("oom_kill_disable 0\nunder_oom 0\n").has_value());
  CHECK_FALSE(platform::parseOomKill("oom_kill x\n").has_value());
  // The real machine: readable where the memory controller is mounted.
  const auto real = platform::findOomCounterFile("/proc", "self", "/sys/fs/cgroup");
  if (real.empty()) {
    MESSAGE("no readable memory cgroup oom_kill counter on this machine");
  } else {
    CHECK(platform::readOomKill(real).has_value());
  }
}

namespace {
// A supervised child whose cgroup is a fixture: proc/self/cgroup (the agent's,
// which the child inherits) names cg/agent.service/memory.events.
struct OomFixture {
  test::TempDir dir;
  asio::io_context io;
  checks::CheckPtr c;
  int triggers = 0;

  explicit OomFixture(const std::string& name, bool with_cgroup = true) {
    if (with_cgroup) {
      test::writeFile(dir.file("proc/self/cgroup"), "0::/agent.service\n");
      setCounter(4);
    }
    c = test::checkFromToml("[[check]]\nname = \"" + name + "\"\nkind = \"process\"\nargv = [\"" + test::binaryDir() +
                            "/tests/hale_crash_child\", \"" + dir.file("log") + "\", \"wait\"]\nproc_root = \"" +
                            dir.file("proc") + "\"\ncgroup_root = \"" + dir.file("cg") + "\"\n");
    c->watch(io, [this] { ++triggers; });
    REQUIRE(test::waitFor([&] { return firstPid(dir.file("log")) > 0; }, 5s));
  }
  void setCounter(int n) {
    std::filesystem::create_directories(dir.file("cg/agent.service"));
    test::writeFile(dir.file("cg/agent.service/memory.events"),
                    "low 0\nhigh 0\nmax 0\noom 0\noom_kill " + std::to_string(n) + "\n");
  }
};
}  // namespace

TEST_CASE("process_check: a supervised child killed while its cgroup counted an OOM kill") {
  OomFixture f("sup-oom");
  CHECK(f.c->run().status == checks::CheckStatus::Ok);
  f.setCounter(5);
  ::kill(firstPid(f.dir.file("log")), SIGKILL);
  auto out = runUntilExit(*f.c, f.io, f.triggers);
  INFO(out.message);
  CHECK(out.status == checks::CheckStatus::Crit);
  CHECK(out.message.find("killed by the OOM killer (signal 9)") != std::string::npos);
  CHECK(metricOf(out, "oom_kill") == 1);
  CHECK(metricOf(out, "signal") == 9);
  // Judged once: a later run still tells the same story.
  CHECK(f.c->run().message.find("OOM killer") != std::string::npos);
}

TEST_CASE("process_check: a plain SIGKILL is not reported as an OOM kill") {
  OomFixture f("sup-kill");
  ::kill(firstPid(f.dir.file("log")), SIGKILL);  // before any run: the baseline came from the agent's cgroup
  auto out = runUntilExit(*f.c, f.io, f.triggers);
  INFO(out.message);
  CHECK(out.message.find("killed by signal 9") != std::string::npos);
  CHECK(metricOf(out, "oom_kill") == 0);

  OomFixture none("sup-kill-nocg", false);
  ::kill(firstPid(none.dir.file("log")), SIGKILL);
  auto unknown = runUntilExit(*none.c, none.io, none.triggers);
  CHECK(unknown.message.find("killed by signal 9") != std::string::npos);
  CHECK_FALSE(metricOf(unknown, "oom_kill").has_value());
}

TEST_CASE("process_check: rejects bad CPU and zombie thresholds with the message") {
  const auto order = test::configErrorOf(check("match_name = \"x\"\ncpu_warn_percent = 90\ncpu_crit_percent = 50\n"));
  CHECK(order.find("checks.toml:5:") == 0);
  CHECK(order.find("'cpu_warn_percent'") != std::string::npos);
  CHECK(order.find("must not exceed cpu_crit_percent (50)") != std::string::npos);
  const auto zombies = test::configErrorOf(check("match_name = \"x\"\nzombies_warn = 0\n"));
  CHECK(zombies.find("'zombies_warn'") != std::string::npos);
  CHECK(zombies.find("must be at least 1") != std::string::npos);
  const auto negative = test::configErrorOf(check("match_name = \"x\"\ncpu_crit_percent = -1\n"));
  CHECK(negative.find("must not be negative") != std::string::npos);
}

namespace {
std::optional<int> uidOf(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Uid:", 0) == 0) return std::stoi(line.substr(4));
  return std::nullopt;
}
}  // namespace

TEST_CASE("process_check: a supervised child runs as the configured user") {
  if (::geteuid() != 0) {
    MESSAGE("not root: the child cannot change user; only the config error is tested");
    const auto err =
        test::configErrorOf("[[check]]\nname = \"u\"\nkind = \"process\"\nargv = [\"/bin/true\"]\nuser = \"nobody\"\n");
    CHECK(err.find("needs the agent to run as root") != std::string::npos);
    return;
  }
  test::TempDir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);  // nobody writes the log
  asio::io_context io;
  auto c =
      test::checkFromToml("[[check]]\nname = \"sup-user\"\nkind = \"process\"\nargv = [\"" + test::binaryDir() +
                          "/tests/hale_crash_child\", \"" + dir.file("log") + "\", \"wait\"]\nuser = \"nobody\"\n");
  c->watch(io, [] {});
  REQUIRE(test::waitFor([&] { return firstPid(dir.file("log")) > 0; }, 5s));
  const int pid = firstPid(dir.file("log"));
  CHECK(uidOf(pid) == 65534);
  CHECK(std::filesystem::exists("/proc/" + std::to_string(pid)));
  auto out = c->run();
  INFO(out.message);
  CHECK(out.status == checks::CheckStatus::Ok);
  CHECK(metricOf(out, "pid") == pid);
}

TEST_CASE("process_check: a supervised child whose user cannot run the program reports why") {
  if (!test::skipUnless(::geteuid() == 0, "needs root to start a child as another user")) return;
  test::TempDir dir;
  // The temp dir is root's alone (0700): nobody cannot reach the program copied there.
  std::filesystem::copy_file(test::binaryDir() + "/tests/hale_crash_child", dir.file("child"));
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
  asio::io_context io;
  auto c = test::checkFromToml("[[check]]\nname = \"sup-user-denied\"\nkind = \"process\"\nargv = [\"" +
                               dir.file("child") + "\", \"" + dir.file("log") + "\", \"wait\"]\nuser = \"nobody\"\n");
  c->watch(io, [] {});
  auto out = c->run();
  INFO(out.message);
  CHECK(out.status == checks::CheckStatus::Crit);
  CHECK(out.message.find("as uid 65534: Permission denied") != std::string::npos);
}

TEST_CASE("process_check: rejects a bad user config with the message") {
  const auto unknown = test::configErrorOf(
      "[[check]]\nname = \"u\"\nkind = \"process\"\nargv = [\"/bin/true\"]\nuser = \"no-such-user-hale\"\n");
  if (::geteuid() == 0) {
    CHECK(unknown.find("checks.toml:5:") == 0);
    CHECK(unknown.find("unknown user 'no-such-user-hale'") != std::string::npos);
  } else {
    CHECK(unknown.find("needs the agent to run as root") != std::string::npos);
  }
  const auto not_supervised =
      test::configErrorOf("[[check]]\nname = \"u\"\nkind = \"process\"\nmatch_name = \"x\"\nuser = \"nobody\"\n");
  CHECK(not_supervised.find("'user'") != std::string::npos);
  CHECK(not_supervised.find("only for a supervised child (argv)") != std::string::npos);
}

TEST_CASE("process_check: a real OOM kill of a supervised child in a memory-limited cgroup") {
  // Needs root and a writable memory cgroup of our own (v1 or v2); elsewhere only the fixtures above run.
  const auto own = platform::findOomCounterFile("/proc", "self", "/sys/fs/cgroup");
  if (!test::skipUnless(::geteuid() == 0 && !own.empty(), "needs root and a writable memory cgroup")) return;
  const bool v2 = own.ends_with("/memory.events");
  const std::string group = own.substr(0, own.rfind('/')) + "/hale-oom-test-" + std::to_string(::getpid());
  std::error_code ec;
  if (!test::skipUnless(std::filesystem::create_directory(group, ec), "cannot create " + group + ": " + ec.message()))
    return;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {  // a child still dying keeps the group busy for a moment
      (void)test::waitFor([&] { return ::rmdir(dir.c_str()) == 0 || errno != EBUSY; }, 2s);
    }
  } cleanup{group};
  auto put = [](const std::string& file, const std::string& value) {
    std::ofstream out(file);
    out << value;
    out.flush();
    return bool(out);
  };
  const std::string limit = std::to_string(32 << 20);
  bool limited = v2 ? put(group + "/memory.max", limit) : put(group + "/memory.limit_in_bytes", limit);
  // Without a swap limit the hog would swap instead of being killed.
  if (v2) {
    if (std::filesystem::exists(group + "/memory.swap.max")) limited = limited && put(group + "/memory.swap.max", "0");
  } else if (std::filesystem::exists(group + "/memory.memsw.limit_in_bytes")) {
    limited = limited && put(group + "/memory.memsw.limit_in_bytes", limit);
  }
  REQUIRE(limited);

  test::TempDir dir;
  asio::io_context io;
  int triggers = 0;
  auto c =
      test::checkFromToml("[[check]]\nname = \"sup-real-oom\"\nkind = \"process\"\nargv = [\"" + test::binaryDir() +
                          "/tests/hale_crash_child\", \"" + dir.file("log") + "\", \"hog\"]\n");
  c->watch(io, [&] { ++triggers; });
  REQUIRE(test::waitFor([&] { return firstPid(dir.file("log")) > 0; }, 5s));
  const int pid = firstPid(dir.file("log"));
  REQUIRE(put(group + "/cgroup.procs", std::to_string(pid)));
  CHECK(c->run().status == checks::CheckStatus::Ok);  // sees the child in its new cgroup
  ::kill(pid, SIGUSR1);
  auto out = runUntilExit(*c, io, triggers);
  INFO(out.message);
  CHECK(metricOf(out, "signal") == 9);
  CHECK(metricOf(out, "oom_kill") == 1);
  CHECK(out.message.find("killed by the OOM killer (signal 9)") != std::string::npos);
}
