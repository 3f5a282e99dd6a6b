#pragma once
// The aggregator's SQLite store. Ingest is batched: one transaction per batch,
// with the (node, seq) ledger insert in the same transaction as the data, so
// a redelivered message is stored exactly once.
#include "aggregator/health/health.h"
#include "shared/sqlite/database.h"
#include "shared/wire/envelope.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
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

struct RemediationRow {
  std::string node;
  std::string region;
  wire::RemediationRecord remediation;
};

struct RemediationFilter {
  std::string node;
  std::string region;
  std::string outcome;  ///< e.g. Healed; empty: any
  int64_t since_ms = 0;
  size_t limit = 100;
  size_t offset = 0;
};

struct BuildRow {
  std::string node;
  std::string region;
  wire::BuildRecord build;
};

struct CategoryCount {
  std::string category;
  uint64_t count = 0;
};

struct IngestStats {
  size_t stored = 0;
  size_t duplicates = 0;
};

struct NodeRow {
  std::string node;
  std::string region;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  bool online = false;
  int64_t status_changed_ms = 0;
  std::string agent_version;
  int64_t heartbeat_interval_ms = 0;
  uint64_t max_seq = 0;
  int worst_status = 0;  ///< worst latest result: 0 ok .. 3 unknown, -1 none
  int checks = 0;
  uint64_t messages = 0;  ///< distinct sequence numbers stored; max_seq - messages are missing
};

struct LatestResult {
  std::string check;
  std::string kind;
  wire::CheckStatus status = wire::CheckStatus::Unknown;
  wire::Component component = wire::Component::Compute;
  std::string message;
  std::string metrics_json;
  int64_t observed_at_ms = 0;
};

struct IssueRow {
  std::string node;
  std::string region;
  wire::IssueRecord issue;
  int64_t updated_at_ms = 0;
};

struct IssueFilter {
  std::string node;    ///< empty: any
  std::string region;  ///< empty: any
  std::optional<bool> open;
  size_t limit = 100;
  size_t offset = 0;
};

struct NodeFilter {
  std::string region;  ///< empty: any
  std::optional<bool> online;
  size_t limit = 100;
  size_t offset = 0;
};

/// One row of health_snapshots: a region's (or, with region "", the fleet's) scores at one moment.
struct SnapshotRow {
  std::string region;
  double score = 0;
  std::array<double, health::kComponents> components{};
  int nodes = 0, online = 0, open_crit = 0, open_warn = 0;
};

/// Snapshots averaged over one bucket of a trend window.
struct TrendPoint {
  int64_t at_ms = 0;  ///< bucket start
  double score = 0;   ///< mean over the bucket
  double min_score = 0;
  std::array<double, health::kComponents> components{};
  int samples = 0;
};

/// Issue counts for one (region, component, severity); times are the agents' clocks.
struct IssueStatsRow {
  std::string region;
  int component = 0;
  int severity = 0;
  int64_t opened = 0;  ///< opened since the window start
  int64_t closed = 0;  ///< closed since the window start
  int64_t open_now = 0;
  int64_t repair_ms_sum = 0;  ///< sum of (closed - opened) over `closed`
};

/// Repairs of issues closed in a time range, split by who repaired them.
struct RepairTimes {
  int64_t remediated = 0;  ///< closed issues a remediation of Hale healed
  int64_t remediated_ms_sum = 0;
  int64_t other = 0;  ///< closed without a healing remediation (people, or the fault went away)
  int64_t other_ms_sum = 0;
};

class Store {
 public:
  explicit Store(const std::string& path);

  IngestStats ingest(std::span<const IngestItem> items);
  void setOnline(const std::string& node, const std::string& region, bool online, int64_t at_ms);

  /// node -> region, for checking that a node stays in its region.
  std::unordered_map<std::string, std::string> nodeRegions();

  std::vector<NodeRow> nodes(const NodeFilter& filter);
  size_t countNodes(const NodeFilter& filter);
  std::optional<NodeRow> node(const std::string& id);
  std::vector<LatestResult> latestResults(const std::string& node);
  /// The highest seq such that every seq in (after, seq] of this node is stored.
  uint64_t contiguousFrom(const std::string& node, uint64_t after);
  std::vector<IssueRow> issues(const IssueFilter& filter);
  /// Failed attempts since `since_ms` by category, most frequent first.
  std::vector<CategoryCount> buildCategories(int64_t since_ms, const std::string& region);
  std::vector<RemediationRow> remediations(const RemediationFilter& filter);
  /// outcome name -> count since `since_ms`.
  std::vector<CategoryCount> remediationOutcomes(int64_t since_ms, const std::string& region);
  std::vector<BuildRow> recentBuilds(int64_t since_ms, const std::string& region, const std::string& category,
                                     size_t limit);
  size_t countIssues(const IssueFilter& filter);

  /// Per-node inputs of the health formula, ordered by region and node. A
  /// latest result observed before `stale_before_ms` counts as stale.
  std::vector<health::NodeInput> healthInputs(int64_t stale_before_ms);

  void insertSnapshots(int64_t taken_at_ms, std::span<const SnapshotRow> rows);
  /// Snapshots of `region` ("" for the fleet) since `since_ms`, averaged per `bucket_ms`.
  std::vector<TrendPoint> trend(const std::string& region, int64_t since_ms, int64_t bucket_ms);
  size_t countSnapshots();

  /// Retention: deletes raw check results observed before `before_ms` (the
  /// latest result of each check stays in latest_results); returns rows deleted.
  size_t pruneResults(int64_t before_ms);
  size_t pruneSnapshots(int64_t before_ms);

  std::vector<IssueStatsRow> issueStatistics(int64_t since_ms);
  /// Issues closed in [since_ms, until_ms).
  RepairTimes repairTimes(int64_t since_ms, int64_t until_ms);

  sqlite::Database& db() { return db_; }

 private:
  NodeRow readNode(sqlite::Statement& s);

  sqlite::Database db_;
  sqlite::Statement mark_received_, upsert_node_, heartbeat_node_, insert_result_, upsert_latest_, set_online_,
      node_regions_, select_node_, latest_results_, upsert_issue_, health_nodes_, health_issues_, health_stale_,
      insert_snapshot_, prune_results_, prune_snapshots_, seqs_after_, insert_build_, insert_remediation_;
};

}  // namespace hale::aggregator::storage
