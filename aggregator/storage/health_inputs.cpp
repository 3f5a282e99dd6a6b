#include "aggregator/storage/health_inputs.h"

#include "shared/wire/envelope.h"

#include <unordered_map>

namespace hale::aggregator::storage {
namespace {
// Components come from verified enums, but a row written by a newer agent
// could carry one this build does not know: such rows are skipped, not trusted.
class Index {
 public:
  explicit Index(std::vector<NodeHealthInput>& nodes) : nodes_(nodes) {
    for (size_t i = 0; i < nodes.size(); ++i) by_node_.emplace(nodes[i].node, i);
  }
  NodeHealthInput* slot(const std::string& node, int64_t component) {
    auto it = by_node_.find(node);
    if (it == by_node_.end() || component < 0 || component >= static_cast<int64_t>(kComponents)) return nullptr;
    return &nodes_[it->second];
  }

 private:
  std::vector<NodeHealthInput>& nodes_;
  std::unordered_map<std::string, size_t> by_node_;
};
}  // namespace

HealthInputRepository::HealthInputRepository(Connection& conn)
    : nodes_(conn.prepare(
          "SELECT node, region, online, last_seen_ms, heartbeat_interval_ms FROM nodes ORDER BY region, node")),
      issues_(conn.prepare("SELECT node, component, severity, count(*) FROM issues WHERE closed_at_ms = 0 "
                           "GROUP BY node, component, severity")),
      // Without statistics the planner scans the table; the covering index
      // reads only the (usually few) stale rows.
      stale_(conn.prepare("SELECT node, component, count(*) FROM latest_results" +
                          conn.indexHint("latest_results_by_time") +
                          " WHERE observed_at_ms < $1 GROUP BY node, component")) {}

std::vector<NodeHealthInput> HealthInputRepository::read(int64_t stale_before_ms) {
  std::vector<NodeHealthInput> out;
  nodes_->reset();
  while (nodes_->step())
    out.push_back({nodes_->text(0), nodes_->text(1), nodes_->int64(2) != 0, nodes_->int64(3), nodes_->int64(4)});
  nodes_->reset();
  Index index(out);
  issues_->reset();
  while (issues_->step()) {
    const auto component = issues_->int64(1);
    if (auto* n = index.slot(issues_->text(0), component)) {
      const bool crit = issues_->int64(2) == static_cast<int64_t>(wire::CheckStatus::Crit);
      (crit ? n->open_crit : n->open_warn)[static_cast<size_t>(component)] += static_cast<int>(issues_->int64(3));
    }
  }
  issues_->reset();
  stale_->with(stale_before_ms);
  while (stale_->step()) {
    const auto component = stale_->int64(1);
    if (auto* n = index.slot(stale_->text(0), component))
      n->stale_results[static_cast<size_t>(component)] += static_cast<int>(stale_->int64(2));
  }
  stale_->reset();
  return out;
}

}  // namespace hale::aggregator::storage
