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
  for (const char* kind : {"disk", "process", "certificate", "system", "tcp_probe", "http_probe", "command_probe"}) {
    CAPTURE(kind);
    CHECK(kinds.count(kind) == 1);
  }
}
