#pragma once
// Remediation attempts in SQLite: every step that fires gets an id (the
// attempt_id of its telemetry), and steps that need a human wait here in state
// "awaiting" until approved (CLI or signed command) or expired. The CLI and the
// running agent share the table, so `hale-agent approve ID` works from a shell.
#include "agent/state/state_store.h"
#include "shared/util/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hale::agent::remedies {

struct Attempt {
  uint64_t id = 0;
  uint64_t issue_id = 0;
  std::string check;
  int64_t step = 0;
  std::string action;
  std::string state;  ///< fired, awaiting, approved, resumed, expired
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
};

class Attempts {
 public:
  explicit Attempts(sqlite::Database& db);

  uint64_t add(uint64_t issue_id, const std::string& check, size_t step, const std::string& action,
               const std::string& state, int64_t now_ms, int64_t expires_ms = 0);
  /// Moves an awaiting attempt to approved; refuses unknown, expired or already decided ones.
  Status approve(uint64_t id, int64_t now_ms);
  /// Attempts in `state`, oldest first.
  std::vector<Attempt> inState(const std::string& state);
  void setState(uint64_t id, const std::string& state);
  std::optional<Attempt> get(uint64_t id);
  /// Every attempt made for an issue, oldest first.
  std::vector<Attempt> forIssue(uint64_t issue_id, const std::string& check);
  /// Awaiting attempts past their expiry become expired; returns them.
  std::vector<Attempt> expire(int64_t now_ms);

 private:
  sqlite::Database& db_;
  sqlite::Statement add_, get_, set_, in_state_, for_issue_;
};

}  // namespace hale::agent::remedies
