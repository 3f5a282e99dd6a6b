// The log drill through the real drill runner and state database: lines its
// patterns match are appended to a sandbox copy, the check detects them, and
// the real log and the real check's kept position stay as they were.
#include "agent/checks/log_position.h"
#include "agent/drills/drill_runner.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>

using namespace hale;
using namespace hale::agent;
namespace fs = std::filesystem;

namespace {
struct LogDrillFixture {
  test::TempDir dir;
  std::string config = dir.file("agent.toml");
  std::string log = dir.file("app.log");

  void write(const std::string& check_keys, const std::string& drill = "") {
    fs::create_directory(dir.file("empty"));
    test::writeFile(config, fmt::format(R"([agent]
region = "r"
node = "n"
state_dir = "{0}"
[remediation]
backoff_initial = "50ms"

[[check]]
name = "app-log"
kind = "log"
interval = "100ms"
fail_after = 2
{1}
{2}
  [[check.remedy]]
  action = "clean"
  roots = ["{3}"]
  globs = ["*.nothing"]
  settle = "50ms"
)",
                                        dir.file("state"), check_keys, drill, dir.file("empty")));
  }
  drills::DrillReport drill() {
    drills::DrillOptions opts;
    opts.timeout = std::chrono::seconds(10);
    opts.quiet_logs = true;
    return drills::runDrill(config, "app-log", opts);
  }
};

std::string sandboxOf(const std::string& fault) {
  const auto from = fault.find("(/tmp/"), to = fault.find("/drill.log)");
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  return fault.substr(from + 1, to - from - 1);
}
}  // namespace

TEST_CASE("drill: a log check detects the error lines appended to a sandbox copy, the real log is untouched") {
  LogDrillFixture f;
  test::writeFile(f.log, "ERROR already here\nquiet line\n");
  f.write(
      fmt::format("path = \"{}\"\npatterns_dir = \"{}/config/patterns\"\ncrit_matches = 3", f.log, test::sourceDir()));
  const auto r = f.drill();
  CHECK(r.verdict == drills::Verdict::NotHealed);  // a clean step does not silence a log
  REQUIRE(r.detect_ms);
  CHECK(r.fault.find("appended 3 x \"kernel: Out of memory: Killed process 4242") != std::string::npos);
  CHECK(test::readFile(f.log) == "ERROR already here\nquiet line\n");
  CHECK_FALSE(fs::exists(sandboxOf(r.fault)));
  // The real check's position (from the runner's baseline run) is still the real log's.
  const auto kept = checks::loadLogPosition(checks::logPositionFile(f.dir.file("state"), "app-log"));
  REQUIRE(kept);
  CHECK(kept->source == f.log);
  CHECK(kept->file->offset == 30);
}

TEST_CASE("drill: a log drill uses [check.drill] line, and refuses a line or a journal it cannot use") {
  LogDrillFixture f;
  test::writeFile(f.log, "");
  f.write(fmt::format("path = \"{}\"\npatterns = ['^billing: lost order \\d+$']\ncrit_matches = 1", f.log),
          "  [check.drill]\n  line = \"billing: lost order 42\"\n");
  auto r = f.drill();
  CHECK(r.verdict == drills::Verdict::NotHealed);
  CHECK(r.detect_ms);
  CHECK(r.fault.find("1 x \"billing: lost order 42\"") != std::string::npos);

  f.write(fmt::format("path = \"{}\"\npatterns = ['^billing: lost order \\d+$']", f.log));
  r = f.drill();
  CHECK(r.verdict == drills::Verdict::NotDrillable);
  CHECK(r.reason.find("set [check.drill] line") != std::string::npos);

  f.write(fmt::format("path = \"{}\"\npatterns = ['x']", f.log), "  [check.drill]\n  line = \"no match\"\n");
  r = f.drill();
  CHECK(r.verdict == drills::Verdict::NotDrillable);
  CHECK(r.reason.find("does not match the check's patterns") != std::string::npos);

  f.write("unit = \"demo.service\"\npatterns = ['x']");
  r = f.drill();
  CHECK(r.verdict == drills::Verdict::NotDrillable);
  CHECK(r.reason.find("journal") != std::string::npos);
}
