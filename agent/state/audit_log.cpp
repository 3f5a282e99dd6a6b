#include "agent/state/audit_log.h"

#include "shared/crypto/crypto.h"

#include <fmt/format.h>

namespace hale::agent::state {
namespace {
const std::string kGenesis(64, '0');

AuditEntry readRow(sqlite::Statement& s) {
  AuditEntry e;
  e.seq = static_cast<uint64_t>(s.int64(0));
  e.at_ms = s.int64(1);
  e.actor = s.text(2);
  e.action = s.text(3);
  e.subject = s.text(4);
  e.outcome = s.text(5);
  e.detail = s.text(6);
  e.prev_hash = s.text(7);
  e.hash = s.text(8);
  return e;
}
}  // namespace

AuditLog::AuditLog(sqlite::Database& db)
    : db_(db), insert_(db,
                       "INSERT INTO audit(seq, at_ms, actor, action, subject, outcome, detail, prev_hash, hash) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      head_(db, "SELECT seq, hash FROM audit_head WHERE id = 1"),
      set_head_(db,
                "INSERT INTO audit_head(id, seq, hash) VALUES(1, ?1, ?2) "
                "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"),
      tail_(db,
            "SELECT seq, at_ms, actor, action, subject, outcome, detail, prev_hash, hash FROM audit "
            "ORDER BY seq DESC LIMIT ?") {}

std::string AuditLog::hashOf(const AuditEntry& e) {
  // Length-prefixed fields: no two different rows serialize to the same bytes.
  std::string canonical;
  for (const std::string& field :
       {e.prev_hash, std::to_string(e.seq), std::to_string(e.at_ms), e.actor, e.action, e.subject, e.outcome, e.detail})
    canonical += fmt::format("{}:{};", field.size(), field);
  const auto digest = crypto::sha256(canonical);
  return crypto::toHex(digest);
}

AuditEntry AuditLog::append(int64_t at_ms, std::string actor, std::string action, std::string subject,
                            std::string outcome, std::string detail) {
  AuditEntry e;
  e.at_ms = at_ms;
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.subject = std::move(subject);
  e.outcome = std::move(outcome);
  e.detail = std::move(detail);
  // Entries that could not be written wait in order, ahead of this one.
  if (!flushPending()) {
    hold(std::move(e));
    return {};
  }
  try {
    return write(e);
  } catch (const sqlite::SqliteError& err) {
    if (!sqlite::isFull(err.code())) throw;
    hold(std::move(e));
    return {};
  }
}

AuditEntry AuditLog::write(const AuditEntry& entry) {
  return sqlite::transact(db_, [&] {
    AuditEntry e = entry;
    head_.reset();
    if (head_.step()) {
      e.seq = static_cast<uint64_t>(head_.int64(0)) + 1;
      e.prev_hash = head_.text(1);
    } else {
      e.seq = 1;
      e.prev_hash = kGenesis;
    }
    head_.reset();
    e.hash = hashOf(e);
    insert_.with(e.seq, e.at_ms, e.actor, e.action, e.subject, e.outcome, e.detail, e.prev_hash, e.hash).run();
    set_head_.with(e.seq, e.hash).run();
    return e;
  });
}

void AuditLog::hold(AuditEntry e) {
  if (pending_.size() >= kMaxPending) {
    ++lost_;
    return;
  }
  pending_.push_back(std::move(e));
}

bool AuditLog::flushPending() {
  try {
    if (lost_ > 0 && pending_.size() < kMaxPending) {
      pending_.push_back(AuditEntry{0, pending_.empty() ? 0 : pending_.back().at_ms, "agent", "audit", "-", "lost",
                                    std::to_string(lost_) + " entries could not be kept while the disk was full", "",
                                    ""});
      lost_ = 0;
    }
    while (!pending_.empty()) {
      write(pending_.front());
      pending_.pop_front();
    }
    return true;
  } catch (const sqlite::SqliteError& err) {
    if (!sqlite::isFull(err.code())) throw;
    return false;
  }
}

std::vector<AuditEntry> AuditLog::tail(size_t n) {
  std::vector<AuditEntry> out;
  tail_.with(static_cast<int64_t>(n));
  while (tail_.step()) out.push_back(readRow(tail_));
  tail_.reset();
  return {out.rbegin(), out.rend()};
}

AuditVerdict AuditLog::verify() {
  AuditVerdict v;
  sqlite::Statement all(db_,
                        "SELECT seq, at_ms, actor, action, subject, outcome, detail, prev_hash, hash FROM audit "
                        "ORDER BY seq");
  uint64_t expected_seq = 1;
  std::string prev = kGenesis;
  auto fail = [&](std::string problem) {
    v.ok = false;
    v.problem = std::move(problem);
    return v;
  };
  while (all.step()) {
    const AuditEntry e = readRow(all);
    if (e.seq != expected_seq)
      return fail(fmt::format("row {} follows row {}: rows were deleted or inserted", e.seq, expected_seq - 1));
    if (e.prev_hash != prev)
      return fail(fmt::format("row {} does not chain to row {}: rows were reordered or replaced", e.seq, e.seq - 1));
    if (hashOf(e) != e.hash) return fail(fmt::format("row {} was edited: its content does not match its hash", e.seq));
    prev = e.hash;
    ++expected_seq;
    ++v.rows;
  }
  head_.reset();
  const bool has_head = head_.step();
  const uint64_t head_seq = has_head ? static_cast<uint64_t>(head_.int64(0)) : 0;
  const std::string head_hash = has_head ? head_.text(1) : kGenesis;
  head_.reset();
  if (head_seq != v.rows || head_hash != prev)
    return fail(fmt::format("the log ends at row {} but its head says row {}: the tail was cut or the head edited",
                            v.rows, head_seq));
  return v;
}

}  // namespace hale::agent::state
