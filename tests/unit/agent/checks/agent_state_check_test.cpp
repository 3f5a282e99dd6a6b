// The agent_state check: a warning while a damaged agent.db set aside at
// start waits in the state directory, and ok once someone removed it. The
// agent adds it only while such a copy exists.
#include "agent/checks/check.h"
#include "agent/core/agent_config.h"
#include "shared/config/config.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>

using namespace hale;

namespace {
agent::AgentConfig configIn(const test::TempDir& dir, const std::string& checks = "") {
  return agent::loadAgentConfig(
      config::parseText(
          fmt::format("[agent]\nregion = \"r\"\nnode = \"n\"\nstate_dir = \"{}\"\n{}", dir.path(), checks), "a.toml"),
      "a.toml");
}
}  // namespace

TEST_CASE("agent_state check: warns while a damaged state file is kept, naming it, and is ok once it is removed") {
  test::TempDir dir;
  auto cfg = configIn(dir);
  agent::watchDamagedState(cfg);
  CHECK(cfg.checks.empty());  // intact state: nothing to report, no check

  const std::string damaged = dir.file("agent.db.damaged-20261203T101500Z");
  test::writeFile(damaged, "not a database");
  agent::watchDamagedState(cfg);
  REQUIRE(cfg.checks.size() == 1);
  auto& check = *cfg.checks[0];
  CHECK(check.name() == "agent-state");
  CHECK(check.common().fail_after == 1);  // reported at once: the node lost its history
  CHECK(check.common().component == wire::Component::Storage);

  auto out = check.run();
  CHECK(out.status == wire::CheckStatus::Warn);
  CHECK(out.message.find(damaged) != std::string::npos);
  REQUIRE(out.metrics.size() == 1);
  CHECK(out.metrics[0].value == 1);

  std::filesystem::remove(damaged);
  CHECK(check.run().status == wire::CheckStatus::Ok);
}

TEST_CASE("agent_state check: a configured one is kept instead of the built-in") {
  test::TempDir dir;
  test::writeFile(dir.file("agent.db.damaged-20261203T101500Z"), "not a database");
  auto cfg = configIn(dir, "[[check]]\nname = \"mine\"\nkind = \"agent_state\"\ninterval = \"5m\"\n");
  agent::watchDamagedState(cfg);
  REQUIRE(cfg.checks.size() == 1);
  CHECK(cfg.checks[0]->name() == "mine");
  CHECK(cfg.checks[0]->common().interval == std::chrono::minutes(5));
}
