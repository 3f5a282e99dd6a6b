#pragma once
// What remediation may do at all, independent of budgets: the global and
// per-check auto-remediation switches (persisted, toggled at runtime by the
// local CLI or a signed command), dry-run (decide and record, execute
// nothing: Envoy's "enabled" versus "enforced") and the allowlist of absolute
// program paths that `run`, `hook` and `restart` may start.
#include "agent/limits/limiter.h"
#include "agent/state/state_store.h"
#include "shared/config/config.h"
#include "shared/util/result.h"

#include <string>
#include <vector>

namespace hale::agent::limits {

struct PolicySettings {
  bool enabled = true;  ///< config default; a runtime switch overrides it
  bool dry_run = false;
  std::vector<std::string> allowlist;  ///< absolute paths of programs actions may start
  Millis approval_ttl{std::chrono::hours(1)};
  LimitSettings limits;
};

class Policy {
 public:
  Policy(state::StateStore& store, PolicySettings settings) : store_(store), s_(std::move(settings)) {}

  /// The meta keys the switches live under; the signed command uses the global one.
  static std::string switchKey(const std::string& check);

  /// Global switch, then the check's own; a runtime "off" wins over the config.
  bool autoEnabled(const std::string& check);
  /// Persists a switch; empty check: the whole agent.
  static void setAuto(state::StateStore& store, const std::string& check, bool enabled);

  /// Refuses a program that is relative, not normalized, or not on the allowlist.
  Status allowProgram(const std::string& path) const;

  bool dryRun() const { return s_.dry_run; }
  const PolicySettings& settings() const { return s_; }
  void update(PolicySettings settings) { s_ = std::move(settings); }

 private:
  state::StateStore& store_;
  PolicySettings s_;
};

/// [remediation] keys, for validation and `hale-agent help config`.
std::span<const config::FieldSpec> remediationFields();
/// Builds the settings from the validated [remediation] table.
PolicySettings policyFrom(const config::Fields& fields);

}  // namespace hale::agent::limits
