#pragma once
// The aggregator's database as one connection plus one repository per table
// owner. Ingest is batched: one transaction per batch, with the (node, seq)
// ledger insert in the same transaction as the data, so a redelivered message
// is stored exactly once. Every module reaches its tables through its
// repository; nobody outside storage/ writes SQL.
#include "aggregator/storage/builds.h"
#include "aggregator/storage/ci_runs.h"
#include "aggregator/storage/database.h"
#include "aggregator/storage/failover_decisions.h"
#include "aggregator/storage/health_inputs.h"
#include "aggregator/storage/issues.h"
#include "aggregator/storage/nodes.h"
#include "aggregator/storage/notifications.h"
#include "aggregator/storage/remediations.h"
#include "aggregator/storage/results.h"
#include "aggregator/storage/snapshots.h"
#include "shared/wire/envelope.h"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

/// One verified telemetry message, copied out of its buffer.
struct IngestItem {
  std::string node;
  std::string region;
  uint64_t seq = 0;
  int64_t sent_at_ms = 0;
  int64_t received_ms = 0;
  std::vector<wire::ResultRecord> results;
  std::optional<wire::HeartbeatRecord> heartbeat;
  std::optional<wire::IssueRecord> issue;
  std::optional<wire::BuildRecord> build;
  std::optional<wire::RemediationRecord> remediation;
};

struct IngestStats {
  size_t stored = 0;
  size_t duplicates = 0;
};

class Store {
 public:
  /// Opens and migrates `location` (see openDatabase).
  explicit Store(const std::string& location);
  explicit Store(ConnectionPtr connection);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Stores a batch in one transaction; a (node, seq) stored before counts as a duplicate.
  IngestStats ingest(std::span<const IngestItem> items);
  /// A write transaction over several repositories (rolled back unless committed).
  Transaction transaction() { return Transaction(*conn_); }

  NodeRepository& nodes() { return nodes_; }
  ResultRepository& results() { return results_; }
  IssueRepository& issues() { return issues_; }
  BuildRepository& builds() { return builds_; }
  RemediationRepository& remediations() { return remediations_; }
  HealthInputRepository& healthInputs() { return health_inputs_; }
  SnapshotRepository& snapshots() { return snapshots_; }
  CiRunRepository& ciRuns() { return ci_runs_; }
  NotificationRepository& notifications() { return notifications_; }
  FailoverDecisionRepository& failoverDecisions() { return failover_decisions_; }

 private:
  void store(const IngestItem& item);

  ConnectionPtr conn_;  // first: the repositories prepare statements on it
  NodeRepository nodes_;
  ResultRepository results_;
  IssueRepository issues_;
  BuildRepository builds_;
  RemediationRepository remediations_;
  HealthInputRepository health_inputs_;
  SnapshotRepository snapshots_;
  CiRunRepository ci_runs_;
  NotificationRepository notifications_;
  FailoverDecisionRepository failover_decisions_;
};

}  // namespace hale::aggregator::storage
