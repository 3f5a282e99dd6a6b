#include "aggregator/api/row_json.h"

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

// A node is stale when it claims to be online but its heartbeats stopped
// (a broker restart can lose a last will); the rule lives with the health formula.
bool isStale(const storage::NodeRow& n, int64_t now_ms, const health::Params& params) {
  health::NodeInput in;
  in.online = true;
  in.last_seen_ms = n.last_seen_ms;
  in.heartbeat_interval_ms = n.heartbeat_interval_ms;
  return health::livenessOf(in, now_ms, params) == health::Liveness::Stale;
}

json worstStatus(int status) {
  return status < 0 ? "none" : std::string(wire::statusName(static_cast<wire::CheckStatus>(status)));
}
}  // namespace

json remediationJson(const storage::RemediationRow& row) {
  const auto& r = row.remediation;
  return json{{"node", row.node},
              {"region", row.region},
              {"attempt_id", r.attempt_id},
              {"issue_id", r.issue_id},
              {"check", r.check},
              {"action", r.action},
              {"outcome", wire::remediationOutcomeName(r.outcome)},
              {"reason", r.reason},
              {"exit_code", r.exit_code},
              {"duration_ms", r.duration_ms},
              {"at_ms", r.at_ms}};
}

json issueJson(const storage::IssueRow& row) {
  const auto& i = row.issue;
  return json{{"node", row.node},
              {"region", row.region},
              {"issue_id", i.issue_id},
              {"check", i.check},
              {"state", i.closed_at_ms ? "closed" : "open"},
              {"status", wire::statusName(i.status)},
              {"severity", wire::statusName(i.severity)},
              {"component", wire::componentName(i.component)},
              {"message", i.message},
              {"opened_at_ms", i.opened_at_ms},
              {"closed_at_ms", i.closed_at_ms},
              {"updated_at_ms", row.updated_at_ms}};
}

json nodeJson(const storage::NodeRow& n, int64_t now_ms, const health::Params& params,
              const health::NodeHealth* scored) {
  const bool stale = isStale(n, now_ms, params);
  return json{{"node", n.node},
              {"region", n.region},
              {"online", n.online && !stale},
              {"stale", n.online && stale},
              {"last_seen_ms", n.last_seen_ms},
              {"first_seen_ms", n.first_seen_ms},
              {"status_changed_ms", n.status_changed_ms},
              {"agent_version", n.agent_version},
              {"heartbeat_interval_ms", n.heartbeat_interval_ms},
              {"last_seq", n.max_seq},
              {"messages", n.messages},
              {"missing", n.max_seq - std::min(n.max_seq, n.messages)},
              {"checks", n.checks},
              {"worst_status", worstStatus(n.worst_status)},
              {"score", scored ? json(scored->score) : json(nullptr)},
              {"band", scored ? json(health::bandName(health::bandOf(scored->score))) : json(nullptr)}};
}

}  // namespace hale::aggregator::api
