#pragma once
// `hale-agent drill`: runs one drill in this process. Loads the agent's
// configuration, builds the check and its remedy plan, checks that the target
// is healthy, injects the fault (agent/drills/), runs the check through the
// daemon's own scheduler and result pipeline at its interval until the issue
// opens (fail_after), then lets the remediation engine -- the daemon's own,
// with its limits, policy, dry-run and hash-chained audit in the agent's state
// database -- work through the plan, and reports whether and by which step it
// healed.
// The state database is shared safely with a running daemon (SQLite WAL and a
// busy timeout); the drill's decisions join the outbox, so a running daemon
// sends them to the aggregator as RemediationEvents.
#include "shared/wire/envelope.h"

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hale::agent {

enum class DrillVerdict { Healed, NotHealed, NotDrillable, ConfigError };

struct DrillOptions {
  std::optional<std::chrono::milliseconds> timeout;  ///< default: from the check's cadence and plan
  std::string state_dir;                             ///< overrides [agent] state_dir
  std::function<void(const std::string&)> progress;  ///< one line per phase and decision
  bool quiet_logs = false;                           ///< only warnings in the log (progress says the rest)
};

struct DrillReport {
  std::string check;
  std::string kind;
  DrillVerdict verdict = DrillVerdict::NotHealed;
  std::string fault;                 ///< what was injected
  std::string reason;                ///< why not healed, refused or invalid
  std::string healed_by;             ///< the step (action) whose verification came back ok
  std::optional<int64_t> detect_ms;  ///< injection to issue opened
  std::optional<int64_t> heal_ms;    ///< issue opened to healed
  uint64_t issue_id = 0;
  std::vector<wire::RemediationRecord> decisions;
};

std::string_view drillVerdictName(DrillVerdict v);
/// 0 healed, 1 not healed, 2 configuration or usage error, 3 not drillable.
int drillExitCode(DrillVerdict v);
nlohmann::json toJson(const DrillReport& report);

/// Drills `check` of the configuration in `config_file`.
DrillReport runDrill(const std::string& config_file, const std::string& check, const DrillOptions& options);
/// The names of every check in the configuration, in order (for --all).
std::vector<std::string> drillCheckNames(const std::string& config_file);

}  // namespace hale::agent
