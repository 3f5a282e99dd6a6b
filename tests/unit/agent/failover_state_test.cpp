// The agent's failover bookkeeping: hooks exactly once per transition, across
// re-deliveries of the retained decision and restarts; stale epochs refused.
#include "agent/core/failover_hooks.h"
#include "shared/crypto/crypto.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

using namespace hale;
using namespace hale::agent;

namespace {
wire::CommandSpec decision(uint64_t epoch, const std::string& active, uint8_t nonce = 1) {
  wire::CommandSpec s;
  s.target_region = "global";
  s.epoch = epoch;
  s.nonce.assign(wire::kNonceBytes, nonce);
  s.action = wire::RegionRoleAction{active, wire::RegionRole::Active};
  return s;
}
}  // namespace

TEST_CASE("failover state: promote and demote once per transition while re-deliveries and refreshes are no-ops") {
  test::TempDir dir;
  std::optional<state::StateStore> store(std::in_place, dir.file("state"));
  std::optional<FailoverState> fs(std::in_place, *store, "b");

  auto v = fs->admit(decision(1, "a"));  // b starts standby: nothing to run
  REQUIRE(v.ok());
  CHECK_FALSE(v->already_applied);
  CHECK_FALSE(v->transition);

  v = fs->admit(decision(1, "a"));  // the retained message again
  REQUIRE(v.ok());
  CHECK(v->already_applied);

  v = fs->admit(decision(2, "b"));
  REQUIRE(v.ok());
  REQUIRE(v->transition);
  CHECK(v->transition->promote);
  CHECK(v->transition->epoch == 2);
  CHECK(fs->active());

  // After a restart the same decision, and its re-signed copy, change nothing.
  fs.reset();
  store.emplace(dir.file("state"));
  fs.emplace(*store, "b");
  v = fs->admit(decision(2, "b"));
  REQUIRE(v.ok());
  CHECK(v->already_applied);
  v = fs->admit(decision(2, "b", 9));
  REQUIRE(v.ok());
  CHECK(v->already_applied);

  auto stale = fs->admit(decision(1, "a", 3));
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().message.find("stale failover epoch 1") != std::string::npos);
  auto reused = fs->admit(decision(2, "a", 4));  // same epoch, another decision
  REQUIRE_FALSE(reused.ok());
  CHECK(fs->active());

  v = fs->admit(decision(3, "a"));
  REQUIRE(v.ok());
  REQUIRE(v->transition);
  CHECK_FALSE(v->transition->promote);
  CHECK(fs->epoch() == 3);
  const auto env = failoverHookEnv("b", *v->transition);
  CHECK(env == std::vector<std::string>{"HALE_REGION=b", "HALE_ROLE=standby", "HALE_EPOCH=3", "HALE_ACTIVE_REGION=a"});
}

TEST_CASE("failover state: only SetRegionRole Active decisions are accepted") {
  test::TempDir dir;
  state::StateStore store(dir.file("state"));
  FailoverState fs(store, "a");
  auto other = decision(1, "a");
  other.action = wire::AutoRemediationAction{true, ""};
  CHECK_FALSE(fs.admit(other).ok());
  auto standby = decision(1, "a");
  standby.action = wire::RegionRoleAction{"a", wire::RegionRole::Standby};
  CHECK_FALSE(fs.admit(standby).ok());
  CHECK(fs.epoch() == 0);
}

TEST_CASE("failover config: hooks need an absolute program path") {
  auto root = config::parseText("[failover]\non_promote = [\"/bin/echo\", \"up\"]\nhook_timeout = \"5s\"\n", "t.toml");
  const auto s = readFailoverSettings(root, "t.toml");
  CHECK(s.on_promote == std::vector<std::string>{"/bin/echo", "up"});
  CHECK(s.on_demote.empty());
  CHECK(s.hook_timeout == std::chrono::seconds(5));
  auto bad = config::parseText("[failover]\non_demote = [\"echo\"]\n", "t.toml");
  CHECK_THROWS_WITH_AS(readFailoverSettings(bad, "t.toml"), doctest::Contains("absolute"), config::ConfigError);
}
