#include "agent/core/agent_config.h"
#include "agent/remedies/remedy.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace hale;
using namespace hale::agent;

namespace {
std::string loadError(const std::string& text) {
  test::TempDir dir;
  test::writeFile(dir.file("agent.toml"), text);
  try {
    (void)loadAgentConfig(dir.file("agent.toml"));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kHead = "[agent]\nregion = \"r\"\nstate_dir = \"/tmp/hale-plan-test\"\n";
constexpr const char* kCheck = "[[check]]\nname = \"web\"\nkind = \"process\"\nmatch_name = \"web\"\n";
}  // namespace

TEST_CASE("remedy_plan: config/examples/remediation.toml loads with every example plan") {
  const auto cfg = loadAgentConfig(std::string(HALE_SOURCE_DIR) + "/config/examples/remediation.toml");
  REQUIRE(cfg.plans.count("ci-runner") == 1);
  REQUIRE(cfg.plans.count("build-disk") == 1);
  const auto& crashed = cfg.plans.at("ci-runner");
  REQUIRE(crashed.steps.size() == 3);
  CHECK(crashed.steps[0].action == "restart");
  CHECK(crashed.steps[0].settle == std::chrono::seconds(10));
  CHECK(crashed.steps[1].action == "hook");
  CHECK(crashed.steps[1].approval);
  CHECK(crashed.notify.size() == 1);
  const auto& disk = cfg.plans.at("build-disk");
  REQUIRE(disk.steps.size() == 3);
  CHECK(disk.steps[0].action == "clean");
  CHECK(disk.steps[0].alternative);
  CHECK(disk.steps[1].action == "rotate_logs");
  CHECK(disk.steps[2].action == "hook");
  CHECK(cfg.remediation.limits.resource_per_hour == 10);
  REQUIRE(cfg.plans.count("www-cert") == 1);
  const auto& cert = cfg.plans.at("www-cert");
  REQUIRE(cert.steps.size() == 1);
  CHECK(cert.steps[0].action == "renew_cert");
  CHECK(cert.steps[0].impl->programs() == std::vector<std::string>{"/usr/bin/certbot"});
  CHECK(cert.notify.size() == 1);
  REQUIRE(cfg.plans.count("api-slo") == 1);
  const auto& slo = cfg.plans.at("api-slo");
  REQUIRE(slo.steps.size() == 1);
  CHECK(slo.steps[0].action == "hook");
  CHECK(slo.steps[0].approval);
  CHECK(cfg.plans.size() == 4);
  // Every program a plan may start is on the example's allowlist.
  for (const auto& [name, plan] : cfg.plans)
    for (const auto& step : plan.steps)
      for (const auto& program : step.impl->programs()) {
        CAPTURE(program);
        CHECK(std::find(cfg.remediation.allowlist.begin(), cfg.remediation.allowlist.end(), program) !=
              cfg.remediation.allowlist.end());
      }
  for (const auto& step : crashed.steps)
    for (const auto& program : step.impl->programs()) {
      CAPTURE(program);
      CHECK(program.rfind("/usr/", 0) == 0);
    }
}

TEST_CASE("remedy_plan: rejects bad plans with file:line:col and a useful message") {
  const std::string head = std::string(kHead) + kCheck;
  CHECK(loadError(head + "[[check.remedy]]\naction = \"reboot\"\n").find("unknown action 'reboot'") !=
        std::string::npos);
  CHECK(loadError(head + "[[check.remedy]]\naction = \"reboot\"\n").find("agent.toml:9:") != std::string::npos);
  CHECK(loadError(head + "[[check.remedy]]\nsettle = \"1s\"\n").find("missing required key 'action'") !=
        std::string::npos);
  CHECK(loadError(head + "[[check.remedy]]\naction = \"run\"\nargv = [\"rm\", \"-rf\"]\n").find("absolute path") !=
        std::string::npos);
  CHECK(
      loadError(head + "[[check.remedy]]\naction = \"run\"\nargv = [\"/bin/true\"]\nsetle = \"1s\"\n").find("setle") !=
      std::string::npos);
  CHECK(loadError(head + "[[check.remedy]]\naction = \"run\"\nargv = [\"/bin/true\"]\nrollback = 3\n")
            .find("'rollback' must be a table") != std::string::npos);
  CHECK(loadError(head + "[[check.remedy]]\naction = \"restart\"\n").find("exactly one of unit, pidfile") !=
        std::string::npos);
  CHECK(loadError(head + "[[check.remedy]]\naction = \"notify\"\nurl = \"https://x\"\nsecret_env = \"S\"\n")
            .find("http://") != std::string::npos);
  CHECK(loadError(std::string(kHead) + "[remediation]\nallowlist = [\"bin/x\"]\n").find("not an absolute path") !=
        std::string::npos);
  CHECK(loadError(head + "[[check.remedy]]\naction = \"run\"\nargv = [\"/bin/true\"]\nuser = \"no-such-user-x\"\n")
            .find("no user 'no-such-user-x'") != std::string::npos);
  CHECK(loadError(head + "[[check.remedy]]\naction = \"renew_cert\"\n").find("argv") != std::string::npos);
}
