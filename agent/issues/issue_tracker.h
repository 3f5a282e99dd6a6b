#pragma once
// Hysteresis between check results and issues: an issue opens after
// `fail_after` consecutive bad results and closes after `pass_after`
// consecutive good ones, so a flapping check cannot open an issue per flap.
// Open issues are persisted; an agent restart does not reopen them.
#include "agent/checks/check.h"
#include "agent/state/state_store.h"

#include <map>
#include <optional>
#include <string>

namespace hale::agent::issues {

/// Warn, crit and unknown are bad; ok is good.
bool isBad(wire::CheckStatus status);

class IssueTracker {
 public:
  explicit IssueTracker(state::StateStore& store);

  /// Feeds one result; returns the issue event it causes, if any.
  std::optional<wire::IssueRecord> observe(const checks::CommonSettings& check, const wire::ResultRecord& result);

  const std::map<std::string, wire::IssueRecord>& open() const { return open_; }

 private:
  struct Streak {
    int bad = 0;
    int good = 0;
  };
  state::StateStore& store_;
  std::map<std::string, Streak> streaks_;
  std::map<std::string, wire::IssueRecord> open_;  ///< by check name
};

}  // namespace hale::agent::issues
