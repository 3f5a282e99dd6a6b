#pragma once
// The parts of `smartctl --json -H -A DEVICE` (smartmontools 7, JSON format
// version 1) the smart check judges. Every field is optional: ATA, NVMe and
// SCSI disks report different ones, and old or odd firmware leaves some out.
// Parsed with nlohmann-json without exceptions; a value of the wrong type is
// treated as absent.
#include "agent/platform/command_capture.h"
#include "shared/util/result.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::checks {

struct SmartReport {
  std::string device;               ///< device.name
  std::string protocol;             ///< device.protocol: ATA, NVMe, SCSI
  std::string model;                ///< model_name (scsi_model_name for SCSI)
  int exit_status = -1;             ///< smartctl.exit_status, a bit mask (smartctl(8) "RETURN VALUES")
  std::vector<std::string> errors;  ///< smartctl.messages of severity "error"
  std::optional<bool> passed;       ///< smart_status.passed
  std::optional<int64_t> temperature_c, power_on_hours;
  // ATA attributes 5, 197, 198 (raw values); SCSI grown defect list.
  std::optional<int64_t> reallocated_sectors, pending_sectors, offline_uncorrectable, grown_defects;
  std::vector<std::string> failing_attributes;  ///< ATA attributes at or below threshold now
  // NVMe health information log.
  std::optional<int64_t> critical_warning, percentage_used, media_errors, available_spare, available_spare_threshold;
};

/// smartctl's exit status bits.
inline constexpr int kSmartCommandLineError = 1 << 0;
inline constexpr int kSmartDeviceOpenFailed = 1 << 1;

/// Parses smartctl's JSON output; text before the first '{' is skipped.
/// Errors only for what is not a JSON object at all.
Result<SmartReport> parseSmartctlJson(std::string_view text);

/// Runs smartctl (argv, deadline); tests answer with a fixture instead.
using SmartRunner =
    std::function<Result<platform::CapturedRun>(const std::vector<std::string>& argv, platform::Deadline deadline)>;

/// The NVMe critical_warning bits in words ("spare below threshold, read-only").
std::string describeCriticalWarning(int64_t bits);

}  // namespace hale::agent::checks
