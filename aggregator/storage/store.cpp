#include "aggregator/storage/store.h"

namespace hale::aggregator::storage {

Store::Store(const std::string& location) : Store(openDatabase(location)) {}

Store::Store(ConnectionPtr connection)
    : conn_(std::move(connection)), nodes_(*conn_), results_(*conn_), issues_(*conn_), builds_(*conn_),
      remediations_(*conn_), health_inputs_(*conn_), snapshots_(*conn_), ci_runs_(*conn_), notifications_(*conn_),
      failover_decisions_(*conn_) {}

IngestStats Store::ingest(std::span<const IngestItem> items) {
  IngestStats stats;
  Transaction tx(*conn_);
  for (const auto& item : items) {
    if (!nodes_.markReceived(item.node, item.seq, item.received_ms)) {
      ++stats.duplicates;
      continue;
    }
    ++stats.stored;
    store(item);
  }
  tx.commit();
  return stats;
}

void Store::store(const IngestItem& item) {
  nodes_.recordSeen(item.node, item.region, item.received_ms, item.seq);
  if (item.heartbeat)
    nodes_.recordHeartbeat(item.node, item.heartbeat->agent_version, static_cast<int64_t>(item.heartbeat->interval_ms));
  if (item.remediation) remediations_.record(item.node, item.seq, *item.remediation);
  if (item.build) builds_.record(item.node, *item.build);
  if (item.issue) issues_.record(item.node, *item.issue, item.sent_at_ms);
  for (const auto& r : item.results) results_.record(item.node, r);
}

}  // namespace hale::aggregator::storage
