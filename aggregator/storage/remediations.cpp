#include "aggregator/storage/remediations.h"

namespace hale::aggregator::storage {
namespace {
constexpr std::string_view kColumns =
    "r.node, n.region, r.attempt_id, r.issue_id, r.check_name, r.action, r.outcome, r.reason, r.exit_code, "
    "r.duration_ms, r.at_ms";

wire::RemediationOutcome outcomeOf(const std::string& name) {
  for (int v = static_cast<int>(wire::RemediationOutcome::MIN); v <= static_cast<int>(wire::RemediationOutcome::MAX);
       ++v)
    if (wire::remediationOutcomeName(static_cast<wire::RemediationOutcome>(v)) == name)
      return static_cast<wire::RemediationOutcome>(v);
  return wire::RemediationRecord{}.outcome;
}

RemediationRow readRemediation(const Statement& s) {
  RemediationRow row;
  row.node = s.text(0);
  row.region = s.text(1);
  auto& r = row.remediation;
  r.attempt_id = static_cast<uint64_t>(s.int64(2));
  r.issue_id = static_cast<uint64_t>(s.int64(3));
  r.check = s.text(4);
  r.action = s.text(5);
  r.outcome = outcomeOf(s.text(6));
  r.reason = s.text(7);
  r.exit_code = static_cast<int32_t>(s.int64(8));
  r.duration_ms = static_cast<uint32_t>(s.int64(9));
  r.at_ms = s.int64(10);
  return row;
}
}  // namespace

RemediationRepository::RemediationRepository(Connection& conn)
    : conn_(conn),
      insert_(conn.prepare(
          "INSERT INTO remediations(node, seq, attempt_id, issue_id, check_name, action, outcome, reason, exit_code, "
          "duration_ms, at_ms) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING")),
      failures_(conn.prepare(std::string("SELECT ") + std::string(kColumns) +
                             " FROM remediations r JOIN nodes n ON n.node = r.node "
                             "WHERE r.at_ms >= $1 AND (r.outcome = 'Failed' OR (r.outcome = 'Skipped' AND "
                             "r.reason LIKE 'circuit breaker open%')) ORDER BY r.at_ms")) {}

void RemediationRepository::record(const std::string& node, uint64_t seq, const wire::RemediationRecord& r) {
  insert_
      ->with(node, seq, r.attempt_id, r.issue_id, r.check, r.action, wire::remediationOutcomeName(r.outcome), r.reason,
             r.exit_code, r.duration_ms, r.at_ms)
      .run();
}

std::vector<RemediationRow> RemediationRepository::list(const RemediationFilter& f) {
  auto s = conn_.prepare(std::string("SELECT ") + std::string(kColumns) +
                         " FROM remediations r JOIN nodes n ON n.node = r.node "
                         "WHERE ($1 = '' OR r.node = $1) AND ($2 = '' OR n.region = $2) AND "
                         "($3 = '' OR r.outcome = $3) AND r.at_ms >= $4 "
                         "ORDER BY r.at_ms DESC, r.seq DESC LIMIT $5 OFFSET $6");
  s->with(f.node, f.region, f.outcome, f.since_ms, f.limit, f.offset);
  std::vector<RemediationRow> out;
  while (s->step()) out.push_back(readRemediation(*s));
  return out;
}

std::vector<CategoryCount> RemediationRepository::outcomes(int64_t since_ms, const std::string& region) {
  auto s = conn_.prepare(
      "SELECT r.outcome, count(*) FROM remediations r JOIN nodes n ON n.node = r.node "
      "WHERE r.at_ms >= $1 AND ($2 = '' OR n.region = $2) GROUP BY r.outcome ORDER BY r.outcome");
  s->with(since_ms, region);
  std::vector<CategoryCount> out;
  while (s->step()) out.push_back({s->text(0), static_cast<uint64_t>(s->int64(1))});
  return out;
}

std::vector<std::string> RemediationRepository::regionsRemediating(int64_t since_ms) {
  auto s = conn_.prepare(
      "SELECT DISTINCT n.region FROM remediations r JOIN nodes n ON n.node = r.node "
      "WHERE r.at_ms > $1 AND r.outcome IN ('Fired', 'Approved', 'Executed') "
      "AND NOT EXISTS (SELECT 1 FROM remediations later "
      "WHERE later.node = r.node AND later.attempt_id = r.attempt_id AND later.seq > r.seq)");
  s->with(since_ms);
  std::vector<std::string> out;
  while (s->step()) out.push_back(s->text(0));
  return out;
}

std::vector<RemediationRow> RemediationRepository::failuresSince(int64_t since_ms) {
  std::vector<RemediationRow> out;
  failures_->with(since_ms);
  while (failures_->step()) out.push_back(readRemediation(*failures_));
  failures_->reset();
  return out;
}

}  // namespace hale::aggregator::storage
