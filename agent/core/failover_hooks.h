#pragma once
// The agent's side of region failover: the aggregator's signed, retained
// decision on hale/v1/global/failover names the active region. This decides
// what a verified decision means for this node's region (promote, demote,
// nothing) and remembers it in the state store, so hooks run exactly once per
// transition, across reconnects (the retained message comes again) and restarts.
//
//   epoch  < last applied: refused (stale; audited by the caller)
//   epoch == last applied: already applied (same nonce: a re-delivery; other
//                          nonce: the aggregator's periodic re-signing) when the
//                          role is the same; refused when the role differs
//   epoch  > last applied: applied; a hook runs if this region's role changed
// A region is standby until a decision makes it active.
#include "agent/state/state_store.h"
#include "shared/config/config.h"
#include "shared/util/result.h"
#include "shared/wire/command.h"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hale::agent {

struct FailoverSettings {
  std::vector<std::string> on_promote;  ///< argv; argv[0] absolute; empty: nothing runs
  std::vector<std::string> on_demote;
  std::chrono::milliseconds hook_timeout{std::chrono::seconds(60)};
};

std::span<const config::FieldSpec> failoverFields();
/// Reads [failover] (absent: no hooks). Throws config::ConfigError.
FailoverSettings readFailoverSettings(const toml::table& root, const std::string& path);

struct FailoverTransition {
  bool promote = false;  ///< false: demote
  std::string active_region;
  uint64_t epoch = 0;
};

/// What a decision did: nothing new (already applied), a new epoch without a
/// role change for this region, or a transition whose hook must run.
struct FailoverVerdict {
  bool already_applied = false;
  std::optional<FailoverTransition> transition;
};

class FailoverState {
 public:
  FailoverState(state::StateStore& store, std::string region);
  /// `spec` is verified (signature, target "global", expiry). Persists a new
  /// epoch and role before returning, so a crash never repeats a hook.
  Result<FailoverVerdict> admit(const wire::CommandSpec& spec);
  uint64_t epoch();
  bool active();

 private:
  state::StateStore& store_;
  std::string region_;
};

/// The hook's environment: HALE_REGION, HALE_ROLE (active|standby), HALE_EPOCH, HALE_ACTIVE_REGION.
std::vector<std::string> failoverHookEnv(const std::string& region, const FailoverTransition& t);

}  // namespace hale::agent
