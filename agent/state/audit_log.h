#pragma once
// A tamper-evident audit trail in the agent's SQLite file. Each row carries
// the SHA-256 of its content chained to the previous row's hash; the head
// (last seq and hash) is kept apart, so verify() detects an edited, inserted,
// deleted or reordered row, and a truncated tail. Someone who can rewrite the
// whole file can rewrite the chain too: the head is also reported to the
// aggregator (RemediationEvent), which keeps an independent anchor.
#include "shared/sqlite/database.h"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace hale::agent::state {

struct AuditEntry {
  uint64_t seq = 0;
  int64_t at_ms = 0;
  std::string actor;    ///< who decided: "agent", "command:<key id>", "cli"
  std::string action;   ///< what: "command", "remediation", ...
  std::string subject;  ///< on what: a check name, a command nonce
  std::string outcome;  ///< accepted, refused, executed, skipped, ...
  std::string detail;   ///< why, argv, exit code: free text or JSON
  std::string prev_hash;
  std::string hash;
};

struct AuditVerdict {
  bool ok = true;
  uint64_t rows = 0;
  std::string problem;  ///< the first inconsistency found, with its seq
};

class AuditLog {
 public:
  /// Uses tables created by the agent's migrations.
  explicit AuditLog(sqlite::Database& db);

  /// Appends an entry to the chain. When the disk is full the entry is held
  /// in memory, in order, and written (chained) by the next append or
  /// flushPending(); the returned entry then has seq 0.
  AuditEntry append(int64_t at_ms, std::string actor, std::string action, std::string subject, std::string outcome,
                    std::string detail);
  /// Writes held entries; false while the disk is still full.
  bool flushPending();
  size_t pendingCount() const { return pending_.size(); }
  std::vector<AuditEntry> tail(size_t n);
  AuditVerdict verify();

  static std::string hashOf(const AuditEntry& e);

 private:
  static constexpr size_t kMaxPending = 100'000;
  AuditEntry write(const AuditEntry& entry);
  void hold(AuditEntry e);

  std::deque<AuditEntry> pending_;
  uint64_t lost_ = 0;  ///< entries beyond kMaxPending; recorded as one "lost" entry
  sqlite::Database& db_;
  sqlite::Statement insert_, head_, set_head_, tail_;
};

}  // namespace hale::agent::state
