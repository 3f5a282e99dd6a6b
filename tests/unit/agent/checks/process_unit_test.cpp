// process check with a systemd unit target: a fake systemd for the logic, the
// real systemctl where the machine was booted with systemd.
#include "agent/checks/check.h"
#include "agent/platform/systemd_units.h"
#include "tests/support/check_harness.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

using namespace hale;
using namespace hale::agent;

namespace hale::agent::checks {
CheckPtr makeProcessCheckForTest(CommonSettings common, const config::Fields& fields, const Clock& clock,
                                 const platform::SystemdUnits& units);
}

namespace {
class FakeUnits : public platform::SystemdUnits {
 public:
  std::map<std::string, platform::UnitState> units;
  mutable std::vector<std::string> asked;
  Result<platform::UnitState> show(const std::string& unit, platform::Deadline) const override {
    asked.push_back(unit);
    auto it = units.find(unit);
    if (it == units.end()) return makeError("systemctl show " + unit + " failed (exit 1): Failed to connect to bus");
    return it->second;
  }
};

checks::CheckPtr unitCheck(const FakeUnits& units, const std::string& extra = "") {
  auto root = config::parseText("[[check]]\nname = \"u\"\nkind = \"process\"\nunit = \"nginx.service\"\n" + extra,
                                "agent.toml");
  const auto& table = *root["check"].as_array()->front().as_table();
  std::vector<config::FieldSpec> spec(checks::commonFields().begin(), checks::commonFields().end());
  const auto* kind = checks::findKind("process");
  spec.insert(spec.end(), kind->fields.begin(), kind->fields.end());
  auto fields = config::readFields(table, spec, "agent.toml", "check 'u'");
  checks::CommonSettings common;
  common.name = "u";
  common.kind = "process";
  return checks::makeProcessCheckForTest(common, fields, RealClock::instance(), units);
}

std::optional<double> metricOf(const checks::Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

platform::UnitState state(std::string active, std::string sub, int pid, std::optional<uint64_t> restarts) {
  return platform::UnitState{"loaded", std::move(active), std::move(sub), pid, restarts};
}
}  // namespace

TEST_CASE("process_check: systemctl show output is parsed in any order") {
  auto s =
      platform::parseUnitShow("MainPID=1234\nNRestarts=5\nActiveState=active\nSubState=running\nLoadState=loaded\n");
  REQUIRE(s.has_value());
  CHECK(s->main_pid == 1234);
  CHECK(s->restarts == 5u);
  CHECK(s->active_state == "active");
  CHECK(s->sub_state == "running");
  CHECK(s->load_state == "loaded");
  auto old = platform::parseUnitShow("ActiveState=failed\r\nSubState=failed\r\nMainPID=0\r\nNRestarts=[not set]\r\n");
  REQUIRE(old.has_value());
  CHECK_FALSE(old->restarts.has_value());
  CHECK(old->active_state == "failed");
  CHECK_FALSE(platform::parseUnitShow("SubState=running\nMainPID=1\n").has_value());
  CHECK_FALSE(platform::parseUnitShow("ActiveState=active\nMainPID=x\n").has_value());
  CHECK_FALSE(platform::parseUnitShow("").has_value());
}

TEST_CASE("process_check: a systemd unit target: active, restarted, failed, missing") {
  FakeUnits units;
  units.units["nginx.service"] = state("active", "running", ::getpid(), 2);
  auto check = unitCheck(units);
  CHECK(check->blocking());
  auto ok = check->run();
  INFO(ok.message);
  CHECK(ok.status == checks::CheckStatus::Ok);
  CHECK(metricOf(ok, "pid") == ::getpid());
  CHECK(metricOf(ok, "restarts") == 2);
  CHECK(metricOf(ok, "rss_mb").value_or(0) > 0);  // the main pid is read from /proc
  CHECK(ok.message.find("nginx.service: active (running), main pid") != std::string::npos);
  CHECK(units.asked.back() == "nginx.service");

  units.units["nginx.service"].restarts = 3;
  auto restarted = check->run();
  CHECK(restarted.status == checks::CheckStatus::Warn);
  CHECK(restarted.message.find("3 restarts (1 since the last run)") != std::string::npos);
  CHECK(check->run().status == checks::CheckStatus::Ok);  // no new restart since

  units.units["nginx.service"] = state("failed", "failed", 0, 3);
  auto failed = check->run();
  CHECK(failed.status == checks::CheckStatus::Crit);
  CHECK(failed.message == "nginx.service: failed (failed)");
  CHECK(metricOf(failed, "count") == 0);

  units.units["nginx.service"] = state("activating", "auto-restart", 0, 4);
  CHECK(check->run().status == checks::CheckStatus::Crit);

  units.units["nginx.service"] = state("inactive", "dead", 0, std::nullopt);
  units.units["nginx.service"].load_state = "not-found";
  auto missing = check->run();
  CHECK(missing.status == checks::CheckStatus::Crit);
  CHECK(missing.message == "nginx.service: unit not found");

  units.units.clear();
  auto down = check->run();
  CHECK(down.status == checks::CheckStatus::Unknown);
  CHECK(down.message.find("Failed to connect to bus") != std::string::npos);
}

TEST_CASE("process_check: a systemd unit through the real systemctl") {
  const bool have_systemctl =
      std::filesystem::exists("/usr/bin/systemctl") || std::filesystem::exists("/bin/systemctl");
  const bool booted = std::filesystem::is_directory("/run/systemd/system");
  auto check = test::checkFromToml("[[check]]\nname = \"u\"\nkind = \"process\"\nunit = \"init.scope\"\n");
  auto out = check->run();
  INFO(out.message);
  if (have_systemctl && booted) {
    CHECK(out.status == checks::CheckStatus::Ok);
    CHECK(metricOf(out, "pid") == 1);
  } else {
    MESSAGE("systemctl missing or not booted with systemd: only the failure path is tested (" << out.message << ")");
    CHECK(out.status == checks::CheckStatus::Unknown);
    CHECK_FALSE(out.message.empty());
  }
}

TEST_CASE("process_check: rejects a bad unit config with the message") {
  const auto two =
      test::configErrorOf("[[check]]\nname = \"u\"\nkind = \"process\"\nunit = \"a.service\"\nmatch_name = \"a\"\n");
  CHECK(two.find("exactly one of pidfile, match_name, match_cmdline, argv, unit") != std::string::npos);
  const auto bad = test::configErrorOf("[[check]]\nname = \"u\"\nkind = \"process\"\nunit = \"--help\"\n");
  CHECK(bad.find("checks.toml:4:") == 0);
  CHECK(bad.find("'unit'") != std::string::npos);
  CHECK(bad.find("expected a unit name such as nginx.service") != std::string::npos);
}
