// A daemon the agent did not start (found by pidfile), killed twice: each
// crash is seen through a pidfd and the restart step starts it again, long
// before the check's 30 s interval. The second kill proves the watch is
// re-armed on the new pid after the remediation's own re-check, and that a
// fault coming back while the issue is still open (pass_after = 2 keeps it
// open after the heal) runs the plan again.
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

using namespace hale::test;

namespace {
int pidIn(const std::string& path) {
  try {
    return std::stoi(readFile(path));
  } catch (const std::exception&) {
    return 0;
  }
}
}  // namespace

TEST_CASE("pidfile restart: a killed daemon is restarted at once, twice in a row") {
  TempDir dir;
  const std::string child = binaryDir() + "/tests/hale_crash_child", pidfile = dir.file("svc.pid");
  const std::string start = "[\"/usr/bin/setsid\", \"-f\", \"" + child + "\", \"" + dir.file("starts.log") +
                            "\", \"pidfile\", \"" + pidfile + "\"]";
  writeFile(dir.file("agent.toml"), "[agent]\nnode = \"n1\"\nregion = \"eu\"\nstate_dir = \"" + dir.file("state") +
                                        "\"\n[remediation]\nallowlist = [\"/usr/bin/setsid\"]\ncooldown = \"0s\"\n"
                                        "backoff_initial = \"0s\"\nbackoff_reset_after = \"100ms\"\n"
                                        "[[check]]\nname = \"svc\"\nkind = \"process\"\npidfile = \"" +
                                        pidfile +
                                        "\"\ninterval = \"30s\"\nfail_after = 1\n"
                                        "  [[check.remedy]]\n  action = \"restart\"\n  pidfile = \"" +
                                        pidfile + "\"\n  start = " + start + "\n  settle = \"20ms\"\n");
  REQUIRE(runCommand({"/usr/bin/setsid", "-f", child, dir.file("starts.log"), "pidfile", pidfile}) == 0);
  REQUIRE(waitFor([&] { return pidIn(pidfile) > 0; }, std::chrono::seconds(5)));
  Process agent({binaryDir() + "/hale-agent", "run", "--config", dir.file("agent.toml")}, dir.file("agent.log"));
  // The first run finds the daemon and arms the pidfd.
  REQUIRE(waitFor([&] { return readFile(dir.file("agent.log")).find("starting") != std::string::npos; },
                  std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int round = 1; round <= 2; ++round) {
    CAPTURE(round);
    const int old_pid = pidIn(pidfile);
    REQUIRE(old_pid > 0);
    REQUIRE(::kill(old_pid, SIGKILL) == 0);
    CHECK(waitFor(
        [&] {
          const int p = pidIn(pidfile);
          return p > 0 && p != old_pid;
        },
        std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the re-check settles and re-arms
  }
  ::kill(pidIn(pidfile), SIGKILL);
}
