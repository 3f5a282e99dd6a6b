#include "aggregator/storage/issues.h"

#include <fmt/format.h>

namespace hale::aggregator::storage {
namespace {
constexpr std::string_view kIssueWhere =
    "WHERE ($1 = '' OR i.node = $1) AND ($2 = '' OR n.region = $2) AND "
    "($3 < 0 OR ($3 = 1 AND i.closed_at_ms = 0) OR ($3 = 0 AND i.closed_at_ms != 0))";

int64_t openFilter(const IssueFilter& f) { return f.open ? static_cast<int64_t>(*f.open) : int64_t{-1}; }

wire::IssueState stateOf(const std::string& name) {
  return name == "closed"    ? wire::IssueState::Closed
         : name == "updated" ? wire::IssueState::Updated
                             : wire::IssueState::Opened;
}

IssueRow readIssue(const Statement& s) {
  IssueRow row;
  row.node = s.text(0);
  row.region = s.text(1);
  auto& i = row.issue;
  i.issue_id = static_cast<uint64_t>(s.int64(2));
  i.check = s.text(3);
  i.state = stateOf(s.text(4));
  i.status = static_cast<wire::CheckStatus>(s.int64(5));
  i.severity = static_cast<wire::CheckStatus>(s.int64(6));
  i.component = static_cast<wire::Component>(s.int64(7));
  i.message = s.text(8);
  i.opened_at_ms = s.int64(9);
  i.closed_at_ms = s.int64(10);
  row.updated_at_ms = s.int64(11);
  return row;
}

constexpr std::string_view kStatisticsSql =
    "SELECT n.region, i.component, i.severity, "
    "sum(CASE WHEN i.opened_at_ms >= $1 THEN 1 ELSE 0 END), "
    "sum(CASE WHEN i.closed_at_ms != 0 AND i.closed_at_ms >= $1 THEN 1 ELSE 0 END), "
    "sum(CASE WHEN i.closed_at_ms = 0 THEN 1 ELSE 0 END), "
    "coalesce(sum(CASE WHEN i.closed_at_ms != 0 AND i.closed_at_ms >= $1 AND i.closed_at_ms > i.opened_at_ms "
    "THEN i.closed_at_ms - i.opened_at_ms ELSE 0 END), 0) "
    "FROM issues i JOIN nodes n ON n.node = i.node "
    "GROUP BY n.region, i.component, i.severity ORDER BY n.region, i.component, i.severity";

constexpr std::string_view kRepairTimesSql =
    "SELECT healed, count(*), coalesce(sum(CASE WHEN closed_at_ms > opened_at_ms "
    "THEN closed_at_ms - opened_at_ms ELSE 0 END), 0) FROM ("
    "SELECT i.opened_at_ms, i.closed_at_ms, CASE WHEN EXISTS(SELECT 1 FROM remediations r "
    "WHERE r.node = i.node AND r.issue_id = i.issue_id AND r.outcome = 'Healed') THEN 1 ELSE 0 END AS healed "
    "FROM issues i WHERE i.closed_at_ms != 0 AND i.closed_at_ms >= $1 AND i.closed_at_ms < $2) AS closed_issues "
    "GROUP BY healed";
}  // namespace

IssueRepository::IssueRepository(Connection& conn)
    : conn_(conn),
      upsert_(conn.prepare(
          "INSERT INTO issues(node, issue_id, check_name, state, status, severity, component, message, "
          "opened_at_ms, closed_at_ms, updated_at_ms) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
          "ON CONFLICT(node, issue_id) DO UPDATE SET state = excluded.state, status = excluded.status, "
          "message = excluded.message, closed_at_ms = excluded.closed_at_ms, "
          "updated_at_ms = excluded.updated_at_ms WHERE issues.closed_at_ms = 0")),
      open_critical_(conn.prepare(
          "SELECT i.node, n.region, i.issue_id, i.check_name, i.message, i.opened_at_ms, "
          "CASE WHEN EXISTS(SELECT 1 FROM remediations r WHERE r.node = i.node AND r.issue_id = i.issue_id "
          "AND r.outcome = 'Failed') THEN 1 ELSE 0 END FROM issues i JOIN nodes n ON n.node = i.node "
          "WHERE i.closed_at_ms = 0 AND i.severity = 2")) {}

void IssueRepository::record(const std::string& node, const wire::IssueRecord& i, int64_t updated_at_ms) {
  upsert_
      ->with(node, i.issue_id, i.check, wire::issueStateName(i.state), static_cast<int64_t>(i.status),
             static_cast<int64_t>(i.severity), static_cast<int64_t>(i.component), i.message, i.opened_at_ms,
             i.closed_at_ms, updated_at_ms)
      .run();
}

std::vector<IssueRow> IssueRepository::list(const IssueFilter& f) {
  auto s = conn_.prepare(fmt::format(
      "SELECT i.node, n.region, i.issue_id, i.check_name, i.state, i.status, i.severity, i.component, i.message, "
      "i.opened_at_ms, i.closed_at_ms, i.updated_at_ms FROM issues i JOIN nodes n ON n.node = i.node {} "
      "ORDER BY i.opened_at_ms DESC, i.node, i.issue_id DESC LIMIT $4 OFFSET $5",
      kIssueWhere));
  s->with(f.node, f.region, openFilter(f), f.limit, f.offset);
  std::vector<IssueRow> out;
  while (s->step()) out.push_back(readIssue(*s));
  return out;
}

size_t IssueRepository::count(const IssueFilter& f) {
  auto s = conn_.prepare(fmt::format("SELECT count(*) FROM issues i JOIN nodes n ON n.node = i.node {}", kIssueWhere));
  s->with(f.node, f.region, openFilter(f));
  return s->step() ? static_cast<size_t>(s->int64(0)) : 0;
}

std::vector<IssueStatsRow> IssueRepository::statistics(int64_t since_ms) {
  auto s = conn_.prepare(kStatisticsSql);
  s->with(since_ms);
  std::vector<IssueStatsRow> out;
  while (s->step())
    out.push_back({s->text(0), static_cast<int>(s->int64(1)), static_cast<int>(s->int64(2)), s->int64(3), s->int64(4),
                   s->int64(5), s->int64(6)});
  return out;
}

RepairTimes IssueRepository::repairTimes(int64_t since_ms, int64_t until_ms) {
  auto s = conn_.prepare(kRepairTimesSql);
  s->with(since_ms, until_ms);
  RepairTimes out;
  while (s->step()) {
    const bool healed = s->int64(0) != 0;
    (healed ? out.remediated : out.other) = s->int64(1);
    (healed ? out.remediated_ms_sum : out.other_ms_sum) = s->int64(2);
  }
  return out;
}

std::vector<OpenCriticalIssue> IssueRepository::openCritical() {
  std::vector<OpenCriticalIssue> out;
  open_critical_->reset();
  while (open_critical_->step()) {
    auto& s = *open_critical_;
    out.push_back(
        {s.text(0), s.text(1), s.text(3), s.text(4), static_cast<uint64_t>(s.int64(2)), s.int64(5), s.int64(6) != 0});
  }
  open_critical_->reset();
  return out;
}

}  // namespace hale::aggregator::storage
