#include "aggregator/storage/store.h"

#include "aggregator/storage/schema.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hale::aggregator::storage {
namespace {
sqlite::Database& migrated(sqlite::Database& db) {
  sqlite::migrate(db, migrations());
  return db;
}

std::string metricsJson(const std::vector<wire::MetricValue>& metrics) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& m : metrics) j[m.name] = m.value;
  return j.dump();
}

constexpr const char* kNodeColumns =
    "n.node, n.region, n.first_seen_ms, n.last_seen_ms, n.online, n.status_changed_ms, n.agent_version, "
    "n.heartbeat_interval_ms, n.max_seq, "
    "(SELECT max(status) FROM latest_results l WHERE l.node = n.node), "
    "(SELECT count(*) FROM latest_results l WHERE l.node = n.node), "
    "(SELECT count(*) FROM received r WHERE r.node = n.node)";

// WHERE clause shared by the listing and its count; parameters ?1 region, ?2 online.
constexpr const char* kNodeWhere = "WHERE (?1 = '' OR n.region = ?1) AND (?2 < 0 OR n.online = ?2)";
}  // namespace

Store::Store(const std::string& path)
    : db_(path),
      mark_received_(migrated(db_), "INSERT OR IGNORE INTO received(node, seq, received_ms) VALUES(?, ?, ?)"),
      upsert_node_(db_,
                   "INSERT INTO nodes(node, region, first_seen_ms, last_seen_ms, max_seq) VALUES(?1, ?2, ?3, ?3, ?4) "
                   "ON CONFLICT(node) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), "
                   "max_seq = max(max_seq, excluded.max_seq)"),
      heartbeat_node_(db_, "UPDATE nodes SET agent_version = ?2, heartbeat_interval_ms = ?3 WHERE node = ?1"),
      insert_result_(db_,
                     "INSERT INTO check_results(node, check_name, kind, status, component, message, metrics, "
                     "observed_at_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"),
      upsert_latest_(db_,
                     "INSERT INTO latest_results(node, check_name, kind, status, component, message, metrics, "
                     "observed_at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                     "ON CONFLICT(node, check_name) DO UPDATE SET kind = excluded.kind, status = excluded.status, "
                     "component = excluded.component, message = excluded.message, metrics = excluded.metrics, "
                     "observed_at_ms = excluded.observed_at_ms WHERE excluded.observed_at_ms >= observed_at_ms"),
      set_online_(db_,
                  "INSERT INTO nodes(node, region, first_seen_ms, last_seen_ms, online, status_changed_ms) "
                  "VALUES(?1, ?2, ?3, ?3, ?4, ?3) ON CONFLICT(node) DO UPDATE SET online = excluded.online, "
                  "status_changed_ms = excluded.status_changed_ms"),
      node_regions_(db_, "SELECT node, region FROM nodes"),
      select_node_(db_, fmt::format("SELECT {} FROM nodes n WHERE n.node = ?", kNodeColumns)),
      latest_results_(db_,
                      "SELECT check_name, kind, status, component, message, metrics, observed_at_ms "
                      "FROM latest_results WHERE node = ? ORDER BY check_name"),
      upsert_issue_(db_,
                    "INSERT INTO issues(node, issue_id, check_name, state, status, severity, component, message, "
                    "opened_at_ms, closed_at_ms, updated_at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                    "ON CONFLICT(node, issue_id) DO UPDATE SET state = excluded.state, status = excluded.status, "
                    "message = excluded.message, closed_at_ms = excluded.closed_at_ms, "
                    "updated_at_ms = excluded.updated_at_ms "
                    // Events can arrive out of order on replay; a closed issue stays closed.
                    "WHERE issues.closed_at_ms = 0"),
      health_nodes_(
          db_, "SELECT node, region, online, last_seen_ms, heartbeat_interval_ms FROM nodes ORDER BY region, node"),
      health_issues_(db_,
                     "SELECT node, component, severity, count(*) FROM issues WHERE closed_at_ms = 0 "
                     "GROUP BY node, component, severity"),
      health_stale_(db_,
                    // Without statistics the planner scans the table; the covering index
                    // reads only the (usually few) stale rows.
                    "SELECT node, component, count(*) FROM latest_results INDEXED BY latest_results_by_time "
                    "WHERE observed_at_ms < ? GROUP BY node, component"),
      insert_snapshot_(
          db_,
          "INSERT OR REPLACE INTO health_snapshots(region, taken_at_ms, score, compute, storage, network, "
          "security, builds, nodes, online, open_crit, open_warn) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      prune_results_(db_, "DELETE FROM check_results WHERE observed_at_ms < ?"),
      prune_snapshots_(db_, "DELETE FROM health_snapshots WHERE taken_at_ms < ?"),
      seqs_after_(db_, "SELECT seq FROM received WHERE node = ? AND seq > ? ORDER BY seq LIMIT 4096"),
      insert_build_(db_,
                    "INSERT OR IGNORE INTO builds(node, build_id, attempt, command, exit_code, category, "
                    "secondary_category, confidence, remedy, duration_ms, evidence, at_ms) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      insert_remediation_(db_,
                          "INSERT OR IGNORE INTO remediations(node, seq, attempt_id, issue_id, check_name, action, "
                          "outcome, reason, exit_code, duration_ms, at_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") {}

uint64_t Store::contiguousFrom(const std::string& node, uint64_t after) {
  uint64_t cur = after;
  for (;;) {
    seqs_after_.with(node, cur);
    const uint64_t start = cur;
    while (seqs_after_.step() && static_cast<uint64_t>(seqs_after_.int64(0)) == cur + 1) ++cur;
    seqs_after_.reset();
    if (cur == start || cur - start < 4096) return cur;  // reached a gap or the end
  }
}

IngestStats Store::ingest(std::span<const IngestItem> items) {
  IngestStats stats;
  sqlite::Transaction tx(db_);
  for (const auto& item : items) {
    if (mark_received_.with(item.node, item.seq, item.received_ms).run() == 0) {
      ++stats.duplicates;
      continue;
    }
    ++stats.stored;
    upsert_node_.with(item.node, item.region, item.received_ms, item.seq).run();
    if (item.heartbeat)
      heartbeat_node_.with(item.node, item.heartbeat->agent_version, static_cast<int64_t>(item.heartbeat->interval_ms))
          .run();
    if (item.remediation) {
      const auto& r = *item.remediation;
      insert_remediation_
          .with(item.node, item.seq, r.attempt_id, r.issue_id, r.check, r.action,
                std::string(wire::remediationOutcomeName(r.outcome)), r.reason, static_cast<int64_t>(r.exit_code),
                static_cast<int64_t>(r.duration_ms), r.at_ms)
          .run();
    }
    if (item.build) {
      const auto& b = *item.build;
      nlohmann::json evidence = b.evidence;
      insert_build_
          .with(item.node, b.build_id, static_cast<int64_t>(b.attempt), b.command, static_cast<int64_t>(b.exit_code),
                b.category, b.secondary_category, static_cast<double>(b.confidence), b.remedy,
                static_cast<int64_t>(b.duration_ms),
                evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), b.at_ms)
          .run();
    }
    if (item.issue) {
      const auto& i = *item.issue;
      upsert_issue_
          .with(item.node, i.issue_id, i.check, std::string(wire::issueStateName(i.state)),
                static_cast<int64_t>(i.status), static_cast<int64_t>(i.severity), static_cast<int64_t>(i.component),
                i.message, i.opened_at_ms, i.closed_at_ms, item.sent_at_ms)
          .run();
    }
    for (const auto& r : item.results) {
      const std::string metrics = metricsJson(r.metrics);
      const auto status = static_cast<int64_t>(r.status);
      const auto component = static_cast<int64_t>(r.component);
      insert_result_.with(item.node, r.check, r.kind, status, component, r.message, metrics, r.observed_at_ms).run();
      upsert_latest_.with(item.node, r.check, r.kind, status, component, r.message, metrics, r.observed_at_ms).run();
    }
  }
  tx.commit();
  return stats;
}

void Store::setOnline(const std::string& node, const std::string& region, bool online, int64_t at_ms) {
  set_online_.with(node, region, at_ms, static_cast<int64_t>(online)).run();
}

std::unordered_map<std::string, std::string> Store::nodeRegions() {
  std::unordered_map<std::string, std::string> out;
  node_regions_.reset();
  while (node_regions_.step()) out.emplace(node_regions_.text(0), node_regions_.text(1));
  node_regions_.reset();
  return out;
}

NodeRow Store::readNode(sqlite::Statement& s) {
  NodeRow n;
  n.node = s.text(0);
  n.region = s.text(1);
  n.first_seen_ms = s.int64(2);
  n.last_seen_ms = s.int64(3);
  n.online = s.int64(4) != 0;
  n.status_changed_ms = s.int64(5);
  n.agent_version = s.text(6);
  n.heartbeat_interval_ms = s.int64(7);
  n.max_seq = static_cast<uint64_t>(s.int64(8));
  n.worst_status = s.isNull(9) ? -1 : static_cast<int>(s.int64(9));
  n.checks = static_cast<int>(s.int64(10));
  n.messages = static_cast<uint64_t>(s.int64(11));
  return n;
}

std::vector<NodeRow> Store::nodes(const NodeFilter& filter) {
  // Filters vary per call; SQLite's statement cache is not worth it for the listing.
  sqlite::Statement s(db_, fmt::format("SELECT {} FROM nodes n {} ORDER BY n.region, n.node LIMIT ?3 OFFSET ?4",
                                       kNodeColumns, kNodeWhere));
  s.with(filter.region, filter.online ? static_cast<int64_t>(*filter.online) : int64_t{-1},
         static_cast<int64_t>(filter.limit), static_cast<int64_t>(filter.offset));
  std::vector<NodeRow> out;
  while (s.step()) out.push_back(readNode(s));
  return out;
}

size_t Store::countNodes(const NodeFilter& filter) {
  sqlite::Statement s(db_, fmt::format("SELECT count(*) FROM nodes n {}", kNodeWhere));
  s.with(filter.region, filter.online ? static_cast<int64_t>(*filter.online) : int64_t{-1});
  return s.step() ? static_cast<size_t>(s.int64(0)) : 0;
}

std::optional<NodeRow> Store::node(const std::string& id) {
  select_node_.with(id);
  std::optional<NodeRow> out;
  if (select_node_.step()) out = readNode(select_node_);
  select_node_.reset();
  return out;
}

std::vector<LatestResult> Store::latestResults(const std::string& node) {
  std::vector<LatestResult> out;
  latest_results_.with(node);
  while (latest_results_.step()) {
    LatestResult r;
    r.check = latest_results_.text(0);
    r.kind = latest_results_.text(1);
    r.status = static_cast<wire::CheckStatus>(latest_results_.int64(2));
    r.component = static_cast<wire::Component>(latest_results_.int64(3));
    r.message = latest_results_.text(4);
    r.metrics_json = latest_results_.text(5);
    r.observed_at_ms = latest_results_.int64(6);
    out.push_back(std::move(r));
  }
  latest_results_.reset();
  return out;
}

namespace {
constexpr const char* kIssueWhere =
    "WHERE (?1 = '' OR i.node = ?1) AND (?2 = '' OR n.region = ?2) AND "
    "(?3 < 0 OR (?3 = 1 AND i.closed_at_ms = 0) OR (?3 = 0 AND i.closed_at_ms != 0))";

void bindIssueFilter(sqlite::Statement& s, const IssueFilter& f) {
  s.with(f.node, f.region, f.open ? static_cast<int64_t>(*f.open) : int64_t{-1}, static_cast<int64_t>(f.limit),
         static_cast<int64_t>(f.offset));
}
}  // namespace

std::vector<IssueRow> Store::issues(const IssueFilter& filter) {
  sqlite::Statement s(db_, fmt::format("SELECT i.node, n.region, i.issue_id, i.check_name, i.state, i.status, "
                                       "i.severity, i.component, i.message, i.opened_at_ms, i.closed_at_ms, "
                                       "i.updated_at_ms FROM issues i JOIN nodes n ON n.node = i.node {} "
                                       "ORDER BY i.opened_at_ms DESC, i.node, i.issue_id DESC LIMIT ?4 OFFSET ?5",
                                       kIssueWhere));
  bindIssueFilter(s, filter);
  std::vector<IssueRow> out;
  while (s.step()) {
    IssueRow row;
    row.node = s.text(0);
    row.region = s.text(1);
    auto& i = row.issue;
    i.issue_id = static_cast<uint64_t>(s.int64(2));
    i.check = s.text(3);
    const std::string state = s.text(4);
    i.state = state == "closed"    ? wire::IssueState::Closed
              : state == "updated" ? wire::IssueState::Updated
                                   : wire::IssueState::Opened;
    i.status = static_cast<wire::CheckStatus>(s.int64(5));
    i.severity = static_cast<wire::CheckStatus>(s.int64(6));
    i.component = static_cast<wire::Component>(s.int64(7));
    i.message = s.text(8);
    i.opened_at_ms = s.int64(9);
    i.closed_at_ms = s.int64(10);
    row.updated_at_ms = s.int64(11);
    out.push_back(std::move(row));
  }
  return out;
}

size_t Store::countIssues(const IssueFilter& filter) {
  sqlite::Statement s(db_, fmt::format("SELECT count(*) FROM issues i JOIN nodes n ON n.node = i.node {} "
                                       "AND ?4 >= 0 AND ?5 >= 0",
                                       kIssueWhere));
  bindIssueFilter(s, filter);
  return s.step() ? static_cast<size_t>(s.int64(0)) : 0;
}

std::vector<health::NodeInput> Store::healthInputs(int64_t stale_before_ms) {
  std::vector<health::NodeInput> out;
  std::unordered_map<std::string, size_t> index;
  health_nodes_.reset();
  while (health_nodes_.step()) {
    health::NodeInput n;
    n.node = health_nodes_.text(0);
    n.region = health_nodes_.text(1);
    n.online = health_nodes_.int64(2) != 0;
    n.last_seen_ms = health_nodes_.int64(3);
    n.heartbeat_interval_ms = health_nodes_.int64(4);
    index.emplace(n.node, out.size());
    out.push_back(std::move(n));
  }
  health_nodes_.reset();
  // Components come from verified enums, but a row written by a newer agent
  // could carry one this build does not know: such rows are skipped, not trusted.
  auto slot = [&](const std::string& node, int64_t component) -> health::NodeInput* {
    auto it = index.find(node);
    if (it == index.end() || component < 0 || component >= static_cast<int64_t>(health::kComponents)) return nullptr;
    return &out[it->second];
  };
  health_issues_.reset();
  while (health_issues_.step()) {
    const auto component = health_issues_.int64(1);
    if (auto* n = slot(health_issues_.text(0), component)) {
      const bool crit = health_issues_.int64(2) == static_cast<int64_t>(wire::CheckStatus::Crit);
      (crit ? n->open_crit : n->open_warn)[static_cast<size_t>(component)] += static_cast<int>(health_issues_.int64(3));
    }
  }
  health_issues_.reset();
  health_stale_.with(stale_before_ms);
  while (health_stale_.step()) {
    const auto component = health_stale_.int64(1);
    if (auto* n = slot(health_stale_.text(0), component))
      n->stale_results[static_cast<size_t>(component)] += static_cast<int>(health_stale_.int64(2));
  }
  health_stale_.reset();
  return out;
}

void Store::insertSnapshots(int64_t taken_at_ms, std::span<const SnapshotRow> rows) {
  sqlite::Transaction tx(db_);
  for (const auto& r : rows) {
    const auto& c = r.components;
    insert_snapshot_
        .with(r.region, taken_at_ms, r.score, c[0], c[1], c[2], c[3], c[4], r.nodes, r.online, r.open_crit, r.open_warn)
        .run();
  }
  tx.commit();
}

std::vector<TrendPoint> Store::trend(const std::string& region, int64_t since_ms, int64_t bucket_ms) {
  sqlite::Statement s(db_,
                      "SELECT (taken_at_ms / ?3) * ?3 AS bucket, avg(score), min(score), avg(compute), avg(storage), "
                      "avg(network), avg(security), avg(builds), count(*) FROM health_snapshots "
                      "WHERE region = ?1 AND taken_at_ms >= ?2 GROUP BY bucket ORDER BY bucket");
  s.with(region, since_ms, bucket_ms > 0 ? bucket_ms : int64_t{1});
  std::vector<TrendPoint> out;
  while (s.step()) {
    TrendPoint p;
    p.at_ms = s.int64(0);
    p.score = s.real(1);
    p.min_score = s.real(2);
    for (size_t c = 0; c < health::kComponents; ++c) p.components[c] = s.real(static_cast<int>(3 + c));
    p.samples = static_cast<int>(s.int64(8));
    out.push_back(p);
  }
  return out;
}

size_t Store::countSnapshots() {
  sqlite::Statement s(db_, "SELECT count(*) FROM health_snapshots");
  return s.step() ? static_cast<size_t>(s.int64(0)) : 0;
}

size_t Store::pruneResults(int64_t before_ms) { return static_cast<size_t>(prune_results_.with(before_ms).run()); }

size_t Store::pruneSnapshots(int64_t before_ms) { return static_cast<size_t>(prune_snapshots_.with(before_ms).run()); }

std::vector<IssueStatsRow> Store::issueStatistics(int64_t since_ms) {
  sqlite::Statement s(db_,
                      "SELECT n.region, i.component, i.severity, "
                      "sum(i.opened_at_ms >= ?1), "
                      "sum(i.closed_at_ms != 0 AND i.closed_at_ms >= ?1), "
                      "sum(i.closed_at_ms = 0), "
                      "coalesce(sum(CASE WHEN i.closed_at_ms != 0 AND i.closed_at_ms >= ?1 "
                      "THEN max(0, i.closed_at_ms - i.opened_at_ms) END), 0) "
                      "FROM issues i JOIN nodes n ON n.node = i.node "
                      "GROUP BY n.region, i.component, i.severity ORDER BY n.region, i.component, i.severity");
  s.with(since_ms);
  std::vector<IssueStatsRow> out;
  while (s.step()) {
    IssueStatsRow r;
    r.region = s.text(0);
    r.component = static_cast<int>(s.int64(1));
    r.severity = static_cast<int>(s.int64(2));
    r.opened = s.int64(3);
    r.closed = s.int64(4);
    r.open_now = s.int64(5);
    r.repair_ms_sum = s.int64(6);
    out.push_back(r);
  }
  return out;
}

RepairTimes Store::repairTimes(int64_t since_ms, int64_t until_ms) {
  sqlite::Statement s(db_,
                      "SELECT healed, count(*), coalesce(sum(max(0, closed_at_ms - opened_at_ms)), 0) FROM ("
                      "SELECT i.opened_at_ms, i.closed_at_ms, EXISTS(SELECT 1 FROM remediations r "
                      "WHERE r.node = i.node AND r.issue_id = i.issue_id AND r.outcome = 'Healed') AS healed "
                      "FROM issues i WHERE i.closed_at_ms != 0 AND i.closed_at_ms >= ?1 AND i.closed_at_ms < ?2) "
                      "GROUP BY healed");
  s.with(since_ms, until_ms);
  RepairTimes out;
  while (s.step()) {
    if (s.int64(0) != 0) {
      out.remediated = s.int64(1);
      out.remediated_ms_sum = s.int64(2);
    } else {
      out.other = s.int64(1);
      out.other_ms_sum = s.int64(2);
    }
  }
  return out;
}

std::vector<CategoryCount> Store::buildCategories(int64_t since_ms, const std::string& region) {
  sqlite::Statement s(db_,
                      "SELECT b.category, count(*) FROM builds b JOIN nodes n ON n.node = b.node "
                      "WHERE b.at_ms >= ?1 AND b.exit_code != 0 AND (?2 = '' OR n.region = ?2) "
                      "GROUP BY b.category ORDER BY count(*) DESC, b.category");
  s.with(since_ms, region);
  std::vector<CategoryCount> out;
  while (s.step()) out.push_back({s.text(0), static_cast<uint64_t>(s.int64(1))});
  return out;
}

std::vector<BuildRow> Store::recentBuilds(int64_t since_ms, const std::string& region, const std::string& category,
                                          size_t limit) {
  sqlite::Statement s(db_,
                      "SELECT b.node, n.region, b.build_id, b.attempt, b.command, b.exit_code, b.category, "
                      "b.secondary_category, b.confidence, b.remedy, b.duration_ms, b.evidence, b.at_ms "
                      "FROM builds b JOIN nodes n ON n.node = b.node WHERE b.at_ms >= ?1 AND "
                      "(?2 = '' OR n.region = ?2) AND (?3 = '' OR b.category = ?3) ORDER BY b.at_ms DESC LIMIT ?4");
  s.with(since_ms, region, category, static_cast<int64_t>(limit));
  std::vector<BuildRow> out;
  while (s.step()) {
    BuildRow row;
    row.node = s.text(0);
    row.region = s.text(1);
    auto& b = row.build;
    b.build_id = static_cast<uint64_t>(s.int64(2));
    b.attempt = static_cast<uint32_t>(s.int64(3));
    b.command = s.text(4);
    b.exit_code = static_cast<int32_t>(s.int64(5));
    b.category = s.text(6);
    b.secondary_category = s.text(7);
    b.confidence = static_cast<float>(s.real(8));
    b.remedy = s.text(9);
    b.duration_ms = static_cast<uint32_t>(s.int64(10));
    auto evidence = nlohmann::json::parse(s.text(11), nullptr, false);
    if (evidence.is_array())
      for (const auto& line : evidence)
        if (line.is_string()) b.evidence.push_back(line.get<std::string>());
    b.at_ms = s.int64(12);
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<RemediationRow> Store::remediations(const RemediationFilter& f) {
  sqlite::Statement s(db_,
                      "SELECT r.node, n.region, r.attempt_id, r.issue_id, r.check_name, r.action, r.outcome, r.reason, "
                      "r.exit_code, r.duration_ms, r.at_ms FROM remediations r JOIN nodes n ON n.node = r.node "
                      "WHERE (?1 = '' OR r.node = ?1) AND (?2 = '' OR n.region = ?2) AND (?3 = '' OR r.outcome = ?3) "
                      "AND r.at_ms >= ?4 ORDER BY r.at_ms DESC, r.seq DESC LIMIT ?5 OFFSET ?6");
  s.with(f.node, f.region, f.outcome, f.since_ms, static_cast<int64_t>(f.limit), static_cast<int64_t>(f.offset));
  std::vector<RemediationRow> out;
  while (s.step()) {
    RemediationRow row;
    row.node = s.text(0);
    row.region = s.text(1);
    auto& r = row.remediation;
    r.attempt_id = static_cast<uint64_t>(s.int64(2));
    r.issue_id = static_cast<uint64_t>(s.int64(3));
    r.check = s.text(4);
    r.action = s.text(5);
    const std::string outcome = s.text(6);
    for (int v = static_cast<int>(wire::RemediationOutcome::MIN); v <= static_cast<int>(wire::RemediationOutcome::MAX);
         ++v)
      if (wire::remediationOutcomeName(static_cast<wire::RemediationOutcome>(v)) == outcome)
        r.outcome = static_cast<wire::RemediationOutcome>(v);
    r.reason = s.text(7);
    r.exit_code = static_cast<int32_t>(s.int64(8));
    r.duration_ms = static_cast<uint32_t>(s.int64(9));
    r.at_ms = s.int64(10);
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<CategoryCount> Store::remediationOutcomes(int64_t since_ms, const std::string& region) {
  sqlite::Statement s(db_,
                      "SELECT r.outcome, count(*) FROM remediations r JOIN nodes n ON n.node = r.node "
                      "WHERE r.at_ms >= ?1 AND (?2 = '' OR n.region = ?2) GROUP BY r.outcome ORDER BY r.outcome");
  s.with(since_ms, region);
  std::vector<CategoryCount> out;
  while (s.step()) out.push_back({s.text(0), static_cast<uint64_t>(s.int64(1))});
  return out;
}

}  // namespace hale::aggregator::storage
