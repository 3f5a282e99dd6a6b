// Drills in this process against real processes, files, sockets and the
// agent's real state database: the injected failure is detected through the
// scheduler and the result pipeline, the remedy plan runs through the engine,
// and whatever the drill created is gone afterwards. (The `hale-agent drill`
// command itself: tests/integration/drill_cli_test.cpp.)
#include "agent/checks/log_position.h"
#include "agent/core/drill_session.h"
#include "agent/remedies/attempts.h"
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "shared/wire/envelope.h"
#include "tests/support/drill_harness.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>

#include <sys/statvfs.h>
#include <unistd.h>

using namespace hale;
using namespace hale::agent;
namespace fs = std::filesystem;
using test::DrillFixture;

namespace {
/// Space used (%) of the file system holding `path`, as the disk check computes it.
double usedPercent(const std::string& path, uint64_t extra_bytes) {
  struct statvfs v {};
  REQUIRE(::statvfs(path.c_str(), &v) == 0);
  const double total = static_cast<double>(v.f_blocks) * v.f_frsize;
  const double avail = static_cast<double>(v.f_bavail) * v.f_frsize;
  return 100.0 * (total - avail + static_cast<double>(extra_bytes)) / total;
}

bool emptyDir(const std::string& path) { return fs::is_empty(path); }
}  // namespace

TEST_CASE("drill: a killed supervised process is healed by its restart step") {
  DrillFixture f;
  f.write(R"(
[[check]]
name = "drill-sleeper"
kind = "process"
argv = ["/usr/bin/sleep", "600"]
interval = "100ms"
fail_after = 1

  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "100ms"
)");
  const auto r = f.drill("drill-sleeper");
  INFO(r.reason);
  CHECK(r.verdict == DrillVerdict::Healed);
  CHECK(r.healed_by == "restart");
  CHECK(r.fault.find("SIGKILL sent to the supervised child") != std::string::npos);
  REQUIRE(r.detect_ms);
  REQUIRE(r.heal_ms);
  CHECK(*r.detect_ms < 2000);
  CHECK(*r.heal_ms < 5000);
  CHECK(r.issue_id > 0);
  // The decisions are in the agent's hash-chained audit log, and so is the drill's summary.
  state::StateStore store(f.dir.file("state"));
  state::AuditLog audit(store.db());
  CHECK(audit.verify().ok);
  bool executed = false, summary = false;
  for (const auto& e : audit.tail(50)) {
    executed = executed || (e.action == "remediation" && e.outcome == "executed");
    summary = summary || (e.actor == "drill" && e.outcome == "healed");
  }
  CHECK(executed);
  CHECK(summary);
  // The drill's issue does not stay open for the daemon to find.
  CHECK(store.openIssues().empty());
}

TEST_CASE("drill: dry-run is honoured: the plan decides, executes nothing, and the drill says so") {
  DrillFixture f;
  f.write(R"(
[[check]]
name = "drill-dry"
kind = "process"
argv = ["/usr/bin/sleep", "600"]
interval = "100ms"
fail_after = 1

  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "100ms"
)");
  auto text = test::readFile(f.config);
  text.replace(text.find("[remediation]\n"), 14, "[remediation]\ndry_run = true\n");
  test::writeFile(f.config, text);
  const auto r = f.drill("drill-dry");
  CHECK(r.verdict == DrillVerdict::NotHealed);
  CHECK(r.detect_ms);
  CHECK(r.reason.find("dry run") != std::string::npos);
  bool dry = false, executed = false;
  for (const auto& d : r.decisions) {
    dry = dry || d.outcome == wire::RemediationOutcome::DryRun;
    executed = executed || d.outcome == wire::RemediationOutcome::Executed;
  }
  CHECK(dry);
  CHECK_FALSE(executed);
}

TEST_CASE("drill: disk filled past crit is healed by clean, the fill file never stays") {
  DrillFixture f;
  const std::string sandbox = f.dir.file("sandbox");
  fs::create_directory(sandbox);
  // Thresholds relative to the current use: 64 MiB more is critical.
  const double crit = usedPercent(f.dir.path(), 64ull << 20);
  const auto checks = [&](const std::string& globs, uint64_t max_bytes) {
    return fmt::format(R"(
[[check]]
name = "scratch"
kind = "disk"
path = "{0}"
interval = "100ms"
fail_after = 1
warn_percent = {1}
crit_percent = {1}

  [check.drill]
  dir = "{2}"
  max_bytes = {4}

  [[check.remedy]]
  action = "clean"
  roots = ["{2}"]
  globs = ["{3}"]
  settle = "100ms"
)",
                       f.dir.path(), crit, sandbox, globs, max_bytes);
  };
  SUBCASE("a clean step that matches the fill file heals") {
    f.write(checks("*.fill", 1ull << 30));
    const auto r = f.drill("scratch");
    INFO(r.reason);
    CHECK(r.verdict == DrillVerdict::Healed);
    CHECK(r.healed_by == "clean");
    CHECK(r.fault.find(sandbox) != std::string::npos);
  }
  SUBCASE("a clean step that misses it does not heal, and the drill removes the file itself") {
    f.write(checks("*.log", 1ull << 30));
    const auto r = f.drill("scratch");
    CHECK(r.verdict == DrillVerdict::NotHealed);
    CHECK(r.detect_ms);
  }
  SUBCASE("more than max_bytes is refused before anything is written") {
    f.write(checks("*.fill", 1ull << 20));
    const auto r = f.drill("scratch");
    CHECK(r.verdict == DrillVerdict::NotDrillable);
    CHECK(r.reason.find("max_bytes") != std::string::npos);
  }
  CHECK(emptyDir(sandbox));
}

TEST_CASE("drill: a disk check with quota_bytes is filled past crit of its quota, from inside the tree") {
  DrillFixture f;
  const std::string tree = f.dir.file("cache");
  fs::create_directories(tree + "/sandbox");
  fs::create_directories(f.dir.file("elsewhere"));
  // In file-system mode 90 % of the real disk would be far more than max_bytes: only the quota fits.
  const auto checks = [&](const std::string& sandbox) {
    return fmt::format(R"(
[[check]]
name = "cache"
kind = "disk"
path = "{0}"
quota_bytes = 8388608
interval = "100ms"
fail_after = 1

  [check.drill]
  dir = "{1}"
  max_bytes = 16777216

  [[check.remedy]]
  action = "clean"
  roots = ["{0}"]
  globs = ["*.fill"]
  settle = "100ms"
)",
                       tree, sandbox);
  };
  SUBCASE("healed by clean") {
    f.write(checks(tree + "/sandbox"));
    const auto r = f.drill("cache");
    INFO(r.reason);
    CHECK(r.verdict == DrillVerdict::Healed);
    CHECK(r.healed_by == "clean");
    CHECK(r.fault.find("wrote 7.") == 0);  // 90 % of 8 MiB and a 1 % margin
  }
  SUBCASE("a sandbox outside the tree would not count against its quota: refused") {
    f.write(checks(f.dir.file("elsewhere")));
    const auto r = f.drill("cache");
    CHECK(r.verdict == DrillVerdict::NotDrillable);
    CHECK(r.reason.find("is not inside " + tree) != std::string::npos);
  }
  CHECK(emptyDir(tree + "/sandbox"));
  CHECK(emptyDir(f.dir.file("elsewhere")));
}

TEST_CASE("drill: a disk check without a sandbox dir, or a pidfile without allow, is not drillable") {
  DrillFixture f;
  test::Process victim({"/usr/bin/sleep", "600"}, f.dir.file("victim.log"));
  test::writeFile(f.dir.file("victim.pid"), std::to_string(victim.pid()) + "\n");
  f.write(fmt::format(R"(
[[check]]
name = "nodir"
kind = "disk"
path = "/"
  [[check.remedy]]
  action = "clean"
  roots = ["{0}"]
  globs = ["*.nothing"]

[[check]]
name = "worker"
kind = "process"
pidfile = "{1}"
  [[check.remedy]]
  action = "clean"
  roots = ["{0}"]
  globs = ["*.nothing"]

[[check]]
name = "load"
kind = "system"
  [[check.remedy]]
  action = "clean"
  roots = ["{0}"]
  globs = ["*.nothing"]
)",
                      f.dir.path(), f.dir.file("victim.pid")));
  auto r = f.drill("nodir");
  CHECK(r.verdict == DrillVerdict::NotDrillable);
  CHECK(r.reason.find("[check.drill]") != std::string::npos);
  r = f.drill("worker");
  CHECK(r.verdict == DrillVerdict::NotDrillable);
  CHECK(r.reason.find("allow = true") != std::string::npos);
  CHECK(victim.running());
}

TEST_CASE("drill: a certificate drill without a renew step reports not healed and leaves the real file alone") {
  DrillFixture f;
  const std::string real = f.dir.file("real.pem");
  test::writeFile(real, "not touched\n");
  f.write(fmt::format(R"(
[[check]]
name = "tls"
kind = "certificate"
file = "{0}"
interval = "100ms"
fail_after = 2

  [[check.remedy]]
  action = "clean"
  roots = ["{1}"]
  globs = ["*.nothing"]
  settle = "50ms"
)",
                      real, f.dir.file("empty")));
  fs::create_directory(f.dir.file("empty"));
  const auto r = f.drill("tls");
  CHECK(r.verdict == DrillVerdict::NotHealed);
  CHECK(r.fault.find("expired 30 days ago") != std::string::npos);
  REQUIRE(r.detect_ms);
  CHECK(*r.detect_ms >= 100);  // two results at the check's interval
  CHECK(test::readFile(real) == "not touched\n");
  // The test certificate went with the drill.
  const auto from = r.fault.find('('), to = r.fault.find("/expired.pem");
  REQUIRE(to != std::string::npos);
  CHECK_FALSE(fs::exists(r.fault.substr(from + 1, to - from - 1)));
}

TEST_CASE("drill: probes are pointed at a closed port or a listener that answers too late") {
  DrillFixture f;
  f.write(fmt::format(R"(
[[check]]
name = "tcp"
kind = "tcp_probe"
endpoint = "127.0.0.1:{0}"
interval = "100ms"
timeout = "300ms"
fail_after = 1
  [[check.remedy]]
  action = "clean"
  roots = ["{1}"]
  globs = ["*.nothing"]
  settle = "50ms"

[[check]]
name = "web"
kind = "http_probe"
url = "http://127.0.0.1:{0}/"
interval = "100ms"
timeout = "300ms"
fail_after = 1
  [check.drill]
  delay = "2s"
  [[check.remedy]]
  action = "clean"
  roots = ["{1}"]
  globs = ["*.nothing"]
  settle = "50ms"
)",
                      test::freePort(), f.dir.path()));
  auto r = f.drill("tcp");
  CHECK(r.verdict == DrillVerdict::NotHealed);
  CHECK(r.fault.find("closed port") != std::string::npos);
  CHECK(r.detect_ms);
  r = f.drill("web");
  CHECK(r.verdict == DrillVerdict::NotHealed);
  CHECK(r.fault.find("answers after 2000 ms") != std::string::npos);
  CHECK(r.detect_ms);
}

TEST_CASE("drill: with [mqtt] configured, issue, decisions and verdict join the outbox for the daemon to send") {
  DrillFixture f;
  f.write(R"(
[[check]]
name = "drill-outbox"
kind = "process"
argv = ["/usr/bin/sleep", "600"]
interval = "100ms"
fail_after = 1
  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "100ms"
)");
  auto text = test::readFile(f.config);
  text.replace(text.find("[remediation]"), 0, "[mqtt]\nurl = \"mqtt://127.0.0.1:1\"\n");
  test::writeFile(f.config, text);
  REQUIRE(f.drill("drill-outbox").verdict == DrillVerdict::Healed);
  state::StateStore store(f.dir.file("state"));
  int opened = 0, closed = 0, healed_restart = 0, verdicts = 0;
  for (const auto& entry : store.outboxAfter(0, 100)) {
    auto env = wire::verifyEnvelope(entry.payload);
    REQUIRE(env.ok());
    if (const auto* i = (*env)->payload_as_IssueEvent()) {
      const auto issue = wire::readIssueEvent(*i);
      opened += issue.state == wire::IssueState::Opened;
      closed += issue.state == wire::IssueState::Closed;
    }
    if (const auto* r = (*env)->payload_as_RemediationEvent()) {
      const auto rec = wire::readRemediationEvent(*r);
      healed_restart += rec.action == "restart" && rec.outcome == wire::RemediationOutcome::Healed;
      verdicts += rec.action == "drill" && rec.outcome == wire::RemediationOutcome::Healed;
    }
  }
  CHECK(opened == 1);
  CHECK(closed == 1);
  CHECK(healed_restart == 1);
  CHECK(verdicts == 1);
}

TEST_CASE("drill: a step that needs approval ends the drill as not healed and leaves nothing pending") {
  DrillFixture f;
  f.write(R"(
[[check]]
name = "drill-approval"
kind = "process"
argv = ["/usr/bin/sleep", "600"]
interval = "100ms"
fail_after = 1
  [[check.remedy]]
  action = "restart"
  supervised = true
  approval = true
)");
  const auto started = std::chrono::steady_clock::now();
  const auto r = f.drill("drill-approval");
  CHECK(r.verdict == DrillVerdict::NotHealed);
  CHECK(r.reason.find("needs approval") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  state::StateStore store(f.dir.file("state"));
  CHECK(remedies::Attempts(store.db()).inState("awaiting").empty());
}

namespace {
/// A log check of `log` at 100 ms with a harmless plan, and its drill table.
std::string logCheck(const std::string& keys, const std::string& drill, const std::string& plan_root) {
  return fmt::format(R"(
[[check]]
name = "app-log"
kind = "log"
interval = "100ms"
fail_after = 2
{}
{}
  [[check.remedy]]
  action = "clean"
  roots = ["{}"]
  globs = ["*.nothing"]
  settle = "50ms"
)",
                     keys, drill, plan_root);
}

std::string sandboxOf(const std::string& fault) {
  const auto from = fault.find("(/tmp/"), to = fault.find("/drill.log)");
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  return fault.substr(from + 1, to - from - 1);
}
}  // namespace

TEST_CASE("drill: a log check detects the error lines appended to a sandbox copy, the real log is untouched") {
  DrillFixture f;
  const std::string log = f.dir.file("app.log");
  test::writeFile(log, "ERROR already here\nquiet line\n");
  f.write(logCheck(
      fmt::format("path = \"{}\"\npatterns_dir = \"{}/config/patterns\"\ncrit_matches = 3", log, test::sourceDir()), "",
      f.dir.path()));
  const auto r = f.drill("app-log");
  CHECK(r.verdict == DrillVerdict::NotHealed);  // a clean step does not silence a log
  REQUIRE(r.detect_ms);
  CHECK(r.fault.find("appended 3 x \"kernel: Out of memory: Killed process 4242") != std::string::npos);
  CHECK(test::readFile(log) == "ERROR already here\nquiet line\n");
  CHECK_FALSE(fs::exists(sandboxOf(r.fault)));
  // The real check's position (from the runner's baseline run) is still the real log's.
  const auto kept = checks::loadLogPosition(checks::logPositionFile(f.dir.file("state"), "app-log"));
  REQUIRE(kept);
  CHECK(kept->source == log);
  CHECK(kept->file->offset == 30);
}

TEST_CASE("drill: a log drill uses [check.drill] line, and refuses a line or a journal it cannot use") {
  DrillFixture f;
  const std::string log = f.dir.file("app.log");
  test::writeFile(log, "");
  const std::string billing = fmt::format("path = \"{}\"\npatterns = ['^billing: lost order \\d+$']", log);
  f.write(
      logCheck(billing + "\ncrit_matches = 1", "  [check.drill]\n  line = \"billing: lost order 42\"", f.dir.path()));
  auto r = f.drill("app-log");
  CHECK(r.verdict == DrillVerdict::NotHealed);
  CHECK(r.detect_ms);
  CHECK(r.fault.find("1 x \"billing: lost order 42\"") != std::string::npos);

  f.write(logCheck(billing, "", f.dir.path()));
  r = f.drill("app-log");
  CHECK(r.verdict == DrillVerdict::NotDrillable);
  CHECK(r.reason.find("set [check.drill] line") != std::string::npos);

  f.write(logCheck(billing, "  [check.drill]\n  line = \"no match\"", f.dir.path()));
  r = f.drill("app-log");
  CHECK(r.verdict == DrillVerdict::NotDrillable);
  CHECK(r.reason.find("does not match the check's patterns") != std::string::npos);

  f.write(logCheck("unit = \"demo.service\"\npatterns = ['x']", "", f.dir.path()));
  r = f.drill("app-log");
  CHECK(r.verdict == DrillVerdict::NotDrillable);
  CHECK(r.reason.find("journal") != std::string::npos);
}
