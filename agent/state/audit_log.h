#pragma once
// A tamper-evident audit trail in the agent's SQLite file. Each row carries
// the SHA-256 of its content chained to the previous row's hash; the head
// (last seq and hash) is kept apart, so verify() detects an edited, inserted,
// deleted or reordered row, and a truncated tail. Someone who can rewrite the
// whole file can rewrite the chain too: the head is also reported to the
// aggregator (RemediationEvent), which keeps an independent anchor.
#include "shared/sqlite/database.h"

#include <cstdint>
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

  AuditEntry append(int64_t at_ms, std::string actor, std::string action, std::string subject, std::string outcome,
                    std::string detail);
  std::vector<AuditEntry> tail(size_t n);
  AuditVerdict verify();

  static std::string hashOf(const AuditEntry& e);

 private:
  sqlite::Database& db_;
  sqlite::Statement insert_, head_, set_head_, tail_;
};

}  // namespace hale::agent::state
