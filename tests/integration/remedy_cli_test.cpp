#include "agent/limits/policy.h"
#include "agent/remedies/attempts.h"
#include "agent/remedies/strategy.h"
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

using namespace hale;
using namespace hale::agent;

namespace {
struct CliFixture {
  test::TempDir dir;
  std::string config = dir.file("agent.toml");
  CliFixture() {
    test::writeFile(config, "[agent]\nregion = \"r\"\nnode = \"n\"\nstate_dir = \"" + dir.file("state") + "\"\n");
  }
  int run(std::vector<std::string> args) {
    args.insert(args.begin(), test::binaryDir() + "/hale-agent");
    args.push_back("--config");
    args.push_back(config);
    return test::runCommand(args, dir.file("out.txt"));
  }
  std::string out() { return test::readFile(dir.file("out.txt")); }
};
}  // namespace

TEST_CASE("remedy_cli: remediation on|off, pending, approve and stats act on the agent's state") {
  CliFixture f;
  CHECK(f.run({"remediation", "off", "web"}) == 0);
  CHECK(f.run({"remediation", "sideways"}) == 64);
  uint64_t id = 0;
  {
    state::StateStore store(f.dir.file("state"));
    limits::Policy policy(store, {});
    CHECK_FALSE(policy.autoEnabled("web"));
    CHECK(policy.autoEnabled("db"));
    remedies::Attempts attempts(store.db());
    id = attempts.add(1, "web", 0, "hook", "awaiting", unixMillisNow(), unixMillisNow() + 60'000);
    attempts.add(2, "db", 0, "hook", "awaiting", 1, 2);  // long expired
    remedies::Strategy(store.db(), 1).record("process", "crit", "restart", true);
  }
  CHECK(f.run({"pending"}) == 0);
  CHECK(f.out().find("check web") != std::string::npos);
  CHECK(f.run({"approve", std::to_string(id)}) == 0);
  CHECK(f.run({"approve", std::to_string(id)}) == 2);      // no longer awaiting
  CHECK(f.run({"approve", std::to_string(id + 1)}) == 2);  // expired
  CHECK(f.run({"approve", "abc"}) == 64);
  CHECK(f.run({"stats", "--json"}) == 0);
  CHECK(f.out().find("\"successes\": 1") != std::string::npos);
  CHECK(f.run({"remediation", "on"}) == 0);
  state::StateStore store(f.dir.file("state"));
  CHECK(remedies::Attempts(store.db()).inState("approved").size() == 1);
  state::AuditLog audit(store.db());
  CHECK(audit.verify().ok);
  const auto tail = audit.tail(10);
  size_t cli_rows = 0;
  for (const auto& e : tail) cli_rows += e.actor == "cli";
  CHECK(cli_rows == 5);  // off, approved, two refusals, on
}
