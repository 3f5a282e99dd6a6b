// `hale-agent drill` as a user runs it: the real binary, its exit codes, its
// summary for people and its JSON for machines.
#include "tests/support/drill_harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using hale::test::DrillFixture;

TEST_CASE("drill: the command's exit codes: 3 not drillable, 2 for a check that does not exist or none named") {
  DrillFixture f;
  f.write(fmt::format(R"(
[[check]]
name = "load"
kind = "system"
  [[check.remedy]]
  action = "clean"
  roots = ["{}"]
  globs = ["*.nothing"]
)",
                      f.dir.path()));
  CHECK(f.cli({"load"}) == 3);
  CHECK(f.cli({"no-such-check"}) == 2);
  CHECK(f.cli({}) == 2);
}

TEST_CASE("drill --all runs every check and summarises, --json for machines") {
  DrillFixture f;
  f.write(R"(
[[check]]
name = "drill-all-sleeper"
kind = "process"
argv = ["/usr/bin/sleep", "600"]
interval = "100ms"
fail_after = 1
  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "100ms"

[[check]]
name = "load"
kind = "system"
)");
  CHECK(f.cli({"--all", "--json"}) == 0);
  const auto j = nlohmann::json::parse(f.out());
  CHECK(j["healed"] == 1);
  CHECK(j["not_drillable"] == 1);
  REQUIRE(j["drills"].size() == 2);
  CHECK(j["drills"][0]["healed_by"] == "restart");
  CHECK(j["drills"][0]["detect_ms"].is_number());
  CHECK(j["drills"][1]["verdict"] == "not_drillable");
  // Drills honour the limits like any remediation: the restart step is in its cooldown now.
  CHECK(f.cli({"--all"}) == 1);
  CHECK(f.out().find("NOT HEALED") != std::string::npos);
  CHECK(f.out().find("cooldown") != std::string::npos);
  CHECK(f.out().find("2 checks: 0 healed, 1 not healed, 1 not drillable") != std::string::npos);
}
