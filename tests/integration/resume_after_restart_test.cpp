// The real agent stopped in the middle of a plan and started again: the issue
// is still open (no new "opened" event), and its plan carries on after the
// step already tried rather than stalling until the issue closes by itself.
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>

using namespace hale;
using namespace hale::test;
using nlohmann::json;

namespace {
json auditRows(const TempDir& dir) {
  const std::string out = dir.file("audit.json");
  runCommand({"/bin/sh", "-c",
              binaryDir() + "/hale-agent audit tail -n 100 --json --config " + dir.file("agent.toml") + " > " + out});
  return json::parse(readFile(out), nullptr, false);
}

bool hasRow(const json& rows, const std::string& outcome, const std::string& reason_part) {
  if (!rows.is_array()) return false;
  for (const auto& r : rows) {
    if (r["outcome"] != outcome) continue;
    const auto detail = json::parse(r["detail"].get<std::string>(), nullptr, false);
    if (detail.is_object() && detail.value("reason", "").find(reason_part) != std::string::npos) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("remedy_resume: an agent restarted with an open issue continues its plan at the next step") {
  TempDir dir;
  const std::string flag = dir.file("flag"), one = dir.file("one");
  writeFile(dir.file("agent.toml"),
            "[agent]\nregion = \"r\"\nnode = \"n\"\nstate_dir = \"" + dir.file("state") +
                "\"\n[remediation]\nallowlist = [\"/usr/bin/touch\"]\ncooldown = \"0s\"\n"
                "[[check]]\nname = \"flag\"\nkind = \"file\"\npath = \"" +
                flag +
                "\"\ninterval = \"100ms\"\nfail_after = 1\n"
                "  [[check.remedy]]\n  action = \"run\"\n  argv = [\"/usr/bin/touch\", \"" +
                one +
                "\"]\n  settle = \"60s\"\n"  // the agent is stopped while this step settles
                "  [[check.remedy]]\n  action = \"run\"\n  argv = [\"/usr/bin/touch\", \"" +
                flag + "\"]\n  settle = \"0s\"\n");
  const std::vector<std::string> argv{binaryDir() + "/hale-agent", "run", "--config", dir.file("agent.toml")};
  {
    Process agent(argv, dir.file("agent1.log"));
    REQUIRE(waitFor([&] { return std::filesystem::exists(one); }, std::chrono::seconds(10)));
    REQUIRE(agent.stop(SIGTERM).has_value());
  }
  std::filesystem::remove(one);
  CHECK_FALSE(std::filesystem::exists(flag));
  {
    Process agent(argv, dir.file("agent2.log"));
    REQUIRE(waitFor([&] { return hasRow(auditRows(dir), "healed", "check ok"); }, std::chrono::seconds(10)));
    REQUIRE(agent.stop(SIGTERM).has_value());
  }
  CHECK(std::filesystem::exists(flag));
  CHECK_FALSE(std::filesystem::exists(one));  // step 1 was not run a second time
  const auto rows = auditRows(dir);
  CHECK(hasRow(rows, "fired", "resuming at step 2 of 2"));
  CHECK(runCommand({binaryDir() + "/hale-agent", "audit", "verify", "--config", dir.file("agent.toml")}) == 0);
}
