#include "agent/remedies/attempts.h"

#include <fmt/format.h>

namespace hale::agent::remedies {
namespace {
constexpr const char* kColumns = "id, issue_id, check_name, step, action, state, created_ms, expires_ms";

Attempt rowOf(const sqlite::Statement& s) {
  return Attempt{static_cast<uint64_t>(s.int64(0)),
                 static_cast<uint64_t>(s.int64(1)),
                 s.text(2),
                 s.int64(3),
                 s.text(4),
                 s.text(5),
                 s.int64(6),
                 s.int64(7)};
}
}  // namespace

Attempts::Attempts(sqlite::Database& db)
    : db_(db), add_(db,
                    "INSERT INTO remedy_attempts(issue_id, check_name, step, action, state, created_ms, expires_ms) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?)"),
      get_(db, fmt::format("SELECT {} FROM remedy_attempts WHERE id = ?", kColumns)),
      set_(db, "UPDATE remedy_attempts SET state = ?2 WHERE id = ?1"),
      in_state_(db, fmt::format("SELECT {} FROM remedy_attempts WHERE state = ? ORDER BY id", kColumns)),
      for_issue_(db, fmt::format("SELECT {} FROM remedy_attempts WHERE issue_id = ? AND check_name = ? ORDER BY id",
                                 kColumns)) {}

uint64_t Attempts::add(uint64_t issue_id, const std::string& check, size_t step, const std::string& action,
                       const std::string& state, int64_t now_ms, int64_t expires_ms) {
  add_.with(issue_id, check, static_cast<int64_t>(step), action, state, now_ms, expires_ms).run();
  return static_cast<uint64_t>(db_.lastInsertRowid());
}

Status Attempts::approve(uint64_t id, int64_t now_ms) {
  get_.with(id);
  if (!get_.step()) {
    get_.reset();
    return makeError(fmt::format("no remediation attempt {}", id));
  }
  const Attempt a = rowOf(get_);
  get_.reset();
  if (a.state != "awaiting") return makeError(fmt::format("attempt {} is {}, not awaiting approval", id, a.state));
  if (a.expires_ms > 0 && now_ms >= a.expires_ms) {
    setState(id, "expired");
    return makeError(fmt::format("attempt {} expired", id));
  }
  setState(id, "approved");
  return {};
}

std::vector<Attempt> Attempts::inState(const std::string& state) {
  std::vector<Attempt> out;
  in_state_.with(state);
  while (in_state_.step()) out.push_back(rowOf(in_state_));
  in_state_.reset();
  return out;
}

std::optional<Attempt> Attempts::get(uint64_t id) {
  get_.with(id);
  std::optional<Attempt> a;
  if (get_.step()) a = rowOf(get_);
  get_.reset();
  return a;
}

std::vector<Attempt> Attempts::forIssue(uint64_t issue_id, const std::string& check) {
  std::vector<Attempt> out;
  for_issue_.with(issue_id, check);
  while (for_issue_.step()) out.push_back(rowOf(for_issue_));
  for_issue_.reset();
  return out;
}

void Attempts::setState(uint64_t id, const std::string& state) { set_.with(id, state).run(); }

std::vector<Attempt> Attempts::expire(int64_t now_ms) {
  std::vector<Attempt> out;
  for (auto& a : inState("awaiting"))
    if (a.expires_ms > 0 && now_ms >= a.expires_ms) {
      setState(a.id, "expired");
      a.state = "expired";
      out.push_back(std::move(a));
    }
  return out;
}

}  // namespace hale::agent::remedies
