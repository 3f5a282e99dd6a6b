#include "agent/checks/check.h"

#include <doctest/doctest.h>

#include <set>

using namespace hale::agent::checks;

// The example file documents the kinds; it must load exactly as a user's would.
TEST_CASE("examples: config/examples/checks.toml builds every check") {
  const std::string path = std::string(HALE_SOURCE_DIR) + "/config/examples/checks.toml";
  const auto root = hale::config::parseFile(path);
  const auto* checks = root["check"].as_array();
  REQUIRE(checks);
  const CheckEnv env{hale::RealClock::instance(), "/tmp"};
  std::set<std::string> kinds;
  for (const auto& node : *checks) {
    REQUIRE(node.is_table());
    CheckPtr check;
    CHECK_NOTHROW(check = makeCheck(*node.as_table(), path, env));
    if (check) kinds.insert(check->common().kind);
  }
  // Every registered kind has an example: a new kind comes with one.
  REQUIRE(allKinds().size() >= 8);
  for (const auto& kind : allKinds()) {
    CAPTURE(kind.name);
    CHECK(kinds.count(std::string(kind.name)) == 1);
  }
}
