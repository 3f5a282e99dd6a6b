#include "aggregator/notify/events.h"

#include <fmt/format.h>

#include <algorithm>

namespace hale::aggregator::notify {
namespace {
// Agents' clocks may lag ours: look back this far and let the dedup key drop
// what was queued before.
constexpr int64_t kLookbackMs = 10 * 60 * 1000;
constexpr const char* kFloor = "remediations_floor";
constexpr const char* kAfter = "remediations_after";

std::string nodeLink(const std::string& link_base, const std::string& node) {
  return link_base.empty() ? std::string() : link_base + "/api/v1/nodes/" + node;
}

void addRemediation(std::vector<Message>& out, const storage::RemediationRow& row, const std::string& link_base) {
  const auto& r = row.remediation;
  Message m;
  m.node = row.node;
  m.region = row.region;
  m.issue = r.issue_id;
  m.check = r.check;
  m.time_ms = r.at_ms;
  m.link = nodeLink(link_base, m.node);
  m.severity = "error";
  m.message = fmt::format("{}: {}", r.action, r.reason);
  if (r.outcome == wire::RemediationOutcome::Failed) {
    m.event = Event::RemediationFailed;
    out.push_back(m);
  }
  if (r.reason.find("circuit breaker open") != std::string::npos) {
    m.event = Event::BreakerOpen;
    out.push_back(m);
  }
}
}  // namespace

std::vector<Message> scanRemediations(storage::Store& store, int64_t now_ms, const std::string& link_base) {
  auto& state = store.notifications();
  const auto floor = state.stateValue(kFloor);
  if (!floor) state.setStateValue(kFloor, now_ms);
  const int64_t from = floor ? std::max(*floor, state.stateValue(kAfter).value_or(now_ms) - kLookbackMs) : now_ms;
  std::vector<Message> out;
  for (const auto& row : store.remediations().failuresSince(from)) addRemediation(out, row, link_base);
  state.setStateValue(kAfter, now_ms);
  return out;
}

std::vector<Message> scanUnfixed(const std::vector<storage::OpenCriticalIssue>& open, const Target& target,
                                 int64_t now_ms, const std::string& link_base) {
  std::vector<Message> out;
  for (const auto& i : open) {
    if (!i.remediation_failed && now_ms - i.opened_at_ms < target.unfixed_after.count()) continue;
    Message m;
    m.event = Event::UnfixedCritical;
    m.node = i.node;
    m.region = i.region;
    m.issue = i.issue_id;
    m.check = i.check;
    m.message = i.message;
    m.time_ms = i.opened_at_ms;
    m.severity = "critical";
    m.link = nodeLink(link_base, m.node);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace hale::aggregator::notify
