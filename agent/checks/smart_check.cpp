// smart: a disk's own health report, from `smartctl --json -H -A DEVICE`
// (smartmontools, run as argv, never through a shell). Critical when the
// drive's overall health check fails, an ATA attribute is at or below its
// threshold now, or an NVMe drive raises a critical warning or runs out of
// spare blocks; warn and crit thresholds for reallocated and pending sectors,
// temperature, NVMe wear (percentage_used) and media errors. Unknown, with the
// reason, when smartctl is missing or may not open the device (it needs root
// or the `disk` group).
//
//   [[check]]
//   name = "sda-health"
//   kind = "smart"
//   device = "/dev/sda"
//   interval = "1h"
//   timeout = "30s"
#include "agent/checks/check.h"
#include "agent/checks/deadline.h"
#include "agent/checks/smart_json.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"device", config::FieldType::String, "", "the disk, e.g. /dev/sda or /dev/nvme0", true},
    {"device_type", config::FieldType::String, "", "smartctl -d TYPE (sat, nvme, megaraid,N, ...); default: probed"},
    {"smartctl", config::FieldType::String, "smartctl", "the smartctl program (PATH is searched)"},
    {"reallocated_warn", config::FieldType::Float, "1", "reallocated sectors (ATA 5, SCSI grown defects) that warn"},
    {"reallocated_crit", config::FieldType::Float, "100", "reallocated sectors that are critical"},
    {"pending_warn", config::FieldType::Float, "1", "pending or offline-uncorrectable sectors (ATA 197/198) that warn"},
    {"pending_crit", config::FieldType::Float, "10", "pending or offline-uncorrectable sectors that are critical"},
    {"temperature_warn", config::FieldType::Float, "60", "temperature (°C) that warns"},
    {"temperature_crit", config::FieldType::Float, "70", "temperature (°C) that is critical"},
    {"percentage_used_warn", config::FieldType::Float, "80", "NVMe wear (% of rated endurance used) that warns"},
    {"percentage_used_crit", config::FieldType::Float, "95", "NVMe wear that is critical"},
    {"media_errors_warn", config::FieldType::Float, "1", "NVMe media and data integrity errors that warn"},
    {"media_errors_crit", config::FieldType::Float, "", "NVMe media errors that are critical (default: none)"},
};

Result<platform::CapturedRun> runSmartctl(const std::vector<std::string>& argv, platform::Deadline deadline) {
  return platform::runCaptured(argv, deadline, 1 << 20);  // -A of an ATA disk is ~20 KiB of JSON
}

struct Threshold {
  const char* what;
  std::optional<double> warn, crit;
};

class SmartCheck final : public Check {
 public:
  SmartCheck(CommonSettings common, const config::Fields& f, SmartRunner runner)
      : Check(std::move(common)), runner_(std::move(runner)), device_(f.str("device")), smartctl_(f.str("smartctl")),
        reallocated_(threshold(f, "reallocated", "reallocated sectors")),
        pending_(threshold(f, "pending", "pending sectors")),
        temperature_(threshold(f, "temperature", "temperature °C")), wear_(threshold(f, "percentage_used", "wear %")),
        media_(threshold(f, "media_errors", "media errors")) {
    if (device_.empty() || device_[0] == '-') f.fail("device", "expected a device path such as /dev/sda");
    argv_ = {smartctl_, "--json", "-H", "-A"};
    if (auto type = f.optStr("device_type")) argv_.insert(argv_.end(), {"-d", *type});
    argv_.push_back(device_);
  }

  bool blocking() const override { return true; }  // waits for smartctl, which may wake a sleeping disk

  Outcome run() override {
    auto ran = runner_(argv_, ownDeadline(common(), std::chrono::steady_clock::now()));
    if (!ran)
      return Outcome{
          CheckStatus::Unknown,
          fmt::format("{}: {} (smartctl comes with the smartmontools package)", device_, ran.error().message),
          {}};
    if (ran->timed_out)
      return Outcome{CheckStatus::Unknown,
                     fmt::format("{}: smartctl timed out after {}", device_, config::formatDuration(common().timeout)),
                     {}};
    auto report = parseSmartctlJson(ran->output);
    if (!report) return Outcome{CheckStatus::Unknown, fmt::format("{}: {}", device_, report.error().message), {}};
    return judge(*report);
  }

 private:
  static Threshold threshold(const config::Fields& f, const std::string& key, const char* what) {
    auto warn = f.optNumber(key + "_warn"), crit = f.optNumber(key + "_crit");
    if (warn && crit && *warn > *crit) f.fail(key + "_warn", fmt::format("must not exceed {}_crit ({})", key, *crit));
    return Threshold{what, warn, crit};
  }
  static std::optional<double> num(std::optional<int64_t> v) {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  }

  Outcome judge(const SmartReport& r) const {
    Outcome out;
    if (r.exit_status >= 0 && (r.exit_status & (kSmartCommandLineError | kSmartDeviceOpenFailed))) {
      out.status = CheckStatus::Unknown;
      out.message = fmt::format("{}: smartctl could not read the device: {}", device_,
                                r.errors.empty() ? fmt::format("exit status {}", r.exit_status) : r.errors.front());
      if (out.message.find("ermission") != std::string::npos) out.message += " (needs root or the disk group)";
      return out;
    }
    std::vector<std::string> findings;
    auto bad = [&](CheckStatus s, std::string why) {
      out.status = std::max(out.status, s);
      findings.push_back(std::move(why));
    };
    if (r.passed) out.metric("health_passed", *r.passed ? 1 : 0);
    if (r.passed == false) bad(CheckStatus::Crit, "SMART overall health check FAILED");
    for (const auto& a : r.failing_attributes) bad(CheckStatus::Crit, a + " at or below its threshold");
    if (r.critical_warning && *r.critical_warning != 0)
      bad(CheckStatus::Crit, "critical warning: " + describeCriticalWarning(*r.critical_warning));
    if (r.available_spare && r.available_spare_threshold && *r.available_spare < *r.available_spare_threshold)
      bad(CheckStatus::Crit,
          fmt::format("available spare {}% below {}%", *r.available_spare, *r.available_spare_threshold));
    const auto reallocated = r.reallocated_sectors ? r.reallocated_sectors : r.grown_defects;
    std::optional<int64_t> pending = r.pending_sectors;
    if (r.offline_uncorrectable) pending = std::max(pending.value_or(0), *r.offline_uncorrectable);
    measure(out, "reallocated_sectors", num(reallocated), reallocated_, bad);
    measure(out, "pending_sectors", num(pending), pending_, bad);
    measure(out, "temperature_celsius", num(r.temperature_c), temperature_, bad);
    measure(out, "percentage_used", num(r.percentage_used), wear_, bad);
    measure(out, "media_errors", num(r.media_errors), media_, bad);
    if (r.power_on_hours) out.metric("power_on_hours", static_cast<double>(*r.power_on_hours));
    if (!r.passed && findings.empty()) {
      out.status = CheckStatus::Unknown;
      findings.push_back(r.errors.empty() ? "no SMART health status (SMART unsupported or disabled?)"
                                          : r.errors.front());
    }
    const std::string who = r.model.empty() ? device_ : fmt::format("{} ({})", device_, r.model);
    out.message = findings.empty() ? who + ": SMART health passed" : who + ": ";
    for (size_t i = 0; i < findings.size(); ++i) out.message += (i ? "; " : "") + findings[i];
    return out;
  }

  template <class Bad>
  static void measure(Outcome& out, const char* metric, std::optional<double> value, const Threshold& t, Bad& bad) {
    if (!value) return;
    out.metric(metric, *value);
    const auto s = grade(*value, t.warn, t.crit);
    if (s != CheckStatus::Ok) bad(s, fmt::format("{} {:g}", t.what, *value));
  }

  SmartRunner runner_;
  std::string device_, smartctl_;
  std::vector<std::string> argv_;
  Threshold reallocated_, pending_, temperature_, wear_, media_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv&) {
  return std::make_unique<SmartCheck>(std::move(common), fields, &runSmartctl);
}

}  // namespace

/// For tests: a smart check whose smartctl runs are answered by `runner`.
CheckPtr makeSmartCheckForTest(CommonSettings common, const config::Fields& fields, SmartRunner runner) {
  return std::make_unique<SmartCheck>(std::move(common), fields, std::move(runner));
}

extern const CheckKind kSmartCheck;
const CheckKind kSmartCheck{"smart", "a disk's SMART health, sectors, temperature and wear (smartctl --json)", kFields,
                            Component::Storage, &make};

}  // namespace hale::agent::checks
