// The smart check judging smartctl's JSON (fixtures in tests/fixtures/smart/,
// shaped like smartmontools 7.3 output for ATA, NVMe and SCSI disks). The
// runner is replaced by the fixture; a run of the real smartctl is in
// tests/integration/log_sources_test.cpp.
#include "agent/checks/check.h"
#include "agent/checks/smart_json.h"
#include "tests/support/check_harness.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

using namespace hale;
using namespace hale::agent;
using checks::CheckStatus;

namespace hale::agent::checks {
CheckPtr makeSmartCheckForTest(CommonSettings common, const config::Fields& fields, SmartRunner runner);
}

namespace {

std::string fixture(const std::string& name) {
  return test::readFile(test::sourceDir() + "/tests/fixtures/smart/" + name);
}

struct SmartFixture {
  std::vector<std::string> argv_seen;
  Result<platform::CapturedRun> answer = platform::CapturedRun{};

  checks::CheckPtr check(const std::string& extra = "") {
    auto parts = test::checkPartsFromToml("[[check]]\nname = \"d\"\nkind = \"smart\"\ndevice = \"/dev/sda\"\n" + extra);
    return checks::makeSmartCheckForTest(parts.common, parts.fields,
                                         [this](const std::vector<std::string>& argv, auto) {
                                           argv_seen = argv;
                                           return answer;
                                         });
  }
  checks::Outcome runOn(const std::string& name, int exit_code, const std::string& extra = "") {
    answer = platform::CapturedRun{exit_code, 0, false, fixture(name)};
    return check(extra)->run();
  }
};

std::optional<double> metricOf(const checks::Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("smart_json: ATA, NVMe and SCSI fixtures give the fields the check judges") {
  auto ata = checks::parseSmartctlJson(fixture("ata_healthy.json"));
  REQUIRE(ata);
  CHECK(ata->protocol == "ATA");
  CHECK(ata->passed == true);
  CHECK(ata->reallocated_sectors == 0);
  CHECK(ata->pending_sectors == 0);
  CHECK(ata->temperature_c == 34);
  CHECK(ata->power_on_hours == 21457);
  CHECK(ata->exit_status == 0);

  auto failing = checks::parseSmartctlJson(fixture("ata_failing.json"));
  REQUIRE(failing);
  CHECK(failing->passed == false);
  CHECK(failing->reallocated_sectors == 1304);
  CHECK(failing->pending_sectors == 14);
  CHECK(failing->offline_uncorrectable == 3);
  CHECK(failing->failing_attributes == std::vector<std::string>{"Reallocated_Sector_Ct"});

  auto nvme = checks::parseSmartctlJson(fixture("nvme_worn.json"));
  REQUIRE(nvme);
  CHECK(nvme->critical_warning == 5);
  CHECK(nvme->percentage_used == 97);
  CHECK(nvme->media_errors == 2);
  CHECK(nvme->available_spare == 4);
  CHECK(nvme->available_spare_threshold == 10);
  CHECK(checks::describeCriticalWarning(5) == "spare below threshold, reliability degraded");

  auto scsi = checks::parseSmartctlJson(fixture("scsi_defects.json"));
  REQUIRE(scsi);
  CHECK(scsi->grown_defects == 7);
  CHECK(scsi->model == "SEAGATE ST4000NM0023");

  auto denied = checks::parseSmartctlJson(fixture("permission_denied.json"));
  REQUIRE(denied);
  CHECK(denied->exit_status == 2);
  REQUIRE(denied->errors.size() == 1);
  CHECK(denied->errors[0].find("Permission denied") != std::string::npos);
}

TEST_CASE("smart_json: wrong types count as absent, what is not JSON is an error") {
  CHECK_FALSE(checks::parseSmartctlJson(""));
  CHECK_FALSE(checks::parseSmartctlJson("smartctl: command not found"));
  CHECK_FALSE(checks::parseSmartctlJson("{\"smart_status\": "));
  auto odd = checks::parseSmartctlJson(
      R"(warning first {"smart_status":{"passed":"yes"},"temperature":{"current":"hot"},)"
      R"("ata_smart_attributes":{"table":[{"id":"5"},{"id":5,"raw":{"value":-3}},7]},"smartctl":[]})");
  REQUIRE(odd);
  CHECK_FALSE(odd->passed);
  CHECK_FALSE(odd->temperature_c);
  CHECK(odd->reallocated_sectors == -3);
  CHECK(odd->exit_status == -1);
}

TEST_CASE("smart_check: a healthy disk is ok, with its metrics, and argv is smartctl's, never a shell") {
  SmartFixture f;
  const auto out = f.runOn("ata_healthy.json", 0, "device_type = \"sat\"\n");
  CHECK(f.argv_seen == std::vector<std::string>{"smartctl", "--json", "-H", "-A", "-d", "sat", "/dev/sda"});
  CHECK(out.status == CheckStatus::Ok);
  CHECK(out.message == "/dev/sda (WDC WD40EFRX-68N32N0): SMART health passed");
  CHECK(metricOf(out, "health_passed") == 1);
  CHECK(metricOf(out, "temperature_celsius") == 34);
  CHECK(metricOf(out, "power_on_hours") == 21457);
  CHECK(f.runOn("nvme_healthy.json", 0).status == CheckStatus::Ok);
}

TEST_CASE("smart_check: failed health, failing attributes, NVMe warnings and thresholds are critical") {
  SmartFixture f;
  auto out = f.runOn("ata_failing.json", 8 | 16 | 64);
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("SMART overall health check FAILED") != std::string::npos);
  CHECK(out.message.find("Reallocated_Sector_Ct at or below its threshold") != std::string::npos);
  CHECK(out.message.find("reallocated sectors 1304") != std::string::npos);
  CHECK(out.message.find("pending sectors 14") != std::string::npos);
  CHECK(metricOf(out, "pending_sectors") == 14);

  out = f.runOn("nvme_worn.json", 8);
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("critical warning: spare below threshold, reliability degraded") != std::string::npos);
  CHECK(out.message.find("available spare 4% below 10%") != std::string::npos);
  CHECK(out.message.find("wear % 97") != std::string::npos);
  CHECK(out.message.find("media errors 2") != std::string::npos);
  CHECK(out.message.find("temperature °C 72") != std::string::npos);

  out = f.runOn("scsi_defects.json", 0);
  CHECK(out.status == CheckStatus::Warn);  // 7 grown defects: above reallocated_warn, below crit
  CHECK(metricOf(out, "reallocated_sectors") == 7);
  CHECK(f.runOn("scsi_defects.json", 0, "reallocated_warn = 10\n").status == CheckStatus::Ok);
}

TEST_CASE("smart_check: smartctl missing, not permitted or no such device is unknown with the reason") {
  SmartFixture f;
  auto out = f.runOn("permission_denied.json", 2);
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message.find("Permission denied (needs root or the disk group)") != std::string::npos);
  out = f.runOn("no_such_device.json", 1);
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message.find("Unable to detect device type") != std::string::npos);
  f.answer = Error{"cannot run 'smartctl': No such file or directory", 2};
  out = f.check()->run();
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message.find("smartmontools") != std::string::npos);
  f.answer = platform::CapturedRun{-1, 9, true, ""};
  CHECK(f.check()->run().message.find("timed out") != std::string::npos);
}

TEST_CASE("smart_check: rejects bad config") {
  CHECK(test::configErrorOf("[[check]]\nname = \"s\"\nkind = \"smart\"\n").find("missing required key 'device'") !=
        std::string::npos);
  CHECK(test::configErrorOf("[[check]]\nname = \"s\"\nkind = \"smart\"\ndevice = \"-a\"\n").find("device path") !=
        std::string::npos);
  CHECK(test::configErrorOf("[[check]]\nname = \"s\"\nkind = \"smart\"\ndevice = \"/dev/sda\"\ntemperature_warn = 80\n")
            .find("must not exceed temperature_crit (70)") != std::string::npos);
}
