#include "agent/issues/issue_tracker.h"

namespace hale::agent::issues {

bool isBad(wire::CheckStatus status) { return status != wire::CheckStatus::Ok; }

IssueTracker::IssueTracker(state::StateStore& store) : store_(store) {
  for (auto& issue : store_.openIssues()) open_.emplace(issue.check, std::move(issue));
}

std::optional<wire::IssueRecord> IssueTracker::observe(const checks::CommonSettings& check,
                                                       const wire::ResultRecord& result) {
  Streak& streak = streaks_[check.name];
  if (isBad(result.status)) {
    ++streak.bad;
    streak.good = 0;
  } else {
    ++streak.good;
    streak.bad = 0;
  }
  auto open = open_.find(check.name);
  if (open == open_.end()) {
    if (streak.bad < check.fail_after) return std::nullopt;
    wire::IssueRecord issue;
    issue.check = check.name;
    issue.state = wire::IssueState::Opened;
    issue.status = result.status;
    issue.component = check.component;
    issue.severity = check.severity;
    issue.message = result.message;
    issue.opened_at_ms = result.observed_at_ms;
    issue.issue_id = store_.openIssue(issue);
    open_.emplace(check.name, issue);
    return issue;
  }
  wire::IssueRecord& issue = open->second;
  if (streak.good >= check.pass_after) {
    issue.state = wire::IssueState::Closed;
    issue.status = result.status;
    issue.message = result.message;
    issue.closed_at_ms = result.observed_at_ms;
    store_.updateIssue(issue);
    wire::IssueRecord closed = issue;
    open_.erase(open);
    return closed;
  }
  // Still open: report a change of status (warn -> crit), not every repeat.
  if (isBad(result.status) && result.status != issue.status) {
    issue.state = wire::IssueState::Updated;
    issue.status = result.status;
    issue.message = result.message;
    store_.updateIssue(issue);
    return issue;
  }
  return std::nullopt;
}

}  // namespace hale::agent::issues
