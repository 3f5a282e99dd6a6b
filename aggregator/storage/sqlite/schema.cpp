#include "aggregator/storage/sqlite/schema.h"

namespace hale::aggregator::storage::sqlite {
namespace {
constexpr std::string_view kMigrations[] = {
    // 1: nodes and the (node, seq) ledger that makes storage exactly-once.
    R"sql(
CREATE TABLE nodes(
  node TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  online INTEGER NOT NULL DEFAULT 0,
  status_changed_ms INTEGER NOT NULL DEFAULT 0,
  agent_version TEXT NOT NULL DEFAULT '',
  heartbeat_interval_ms INTEGER NOT NULL DEFAULT 0,
  max_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE received(
  node TEXT NOT NULL,
  seq INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  PRIMARY KEY(node, seq)
) WITHOUT ROWID;
)sql",
    // 2: check results: full history plus the latest per (node, check).
    R"sql(
CREATE TABLE check_results(
  id INTEGER PRIMARY KEY,
  node TEXT NOT NULL,
  check_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  status INTEGER NOT NULL,
  component INTEGER NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL,
  observed_at_ms INTEGER NOT NULL
);
CREATE INDEX check_results_by_node_time ON check_results(node, observed_at_ms);
CREATE TABLE latest_results(
  node TEXT NOT NULL,
  check_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  status INTEGER NOT NULL,
  component INTEGER NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL,
  observed_at_ms INTEGER NOT NULL,
  PRIMARY KEY(node, check_name)
) WITHOUT ROWID;
)sql",
    // 3: issues as the agents report them (opened, updated, closed).
    R"sql(
CREATE TABLE issues(
  node TEXT NOT NULL,
  issue_id INTEGER NOT NULL,
  check_name TEXT NOT NULL,
  state TEXT NOT NULL,
  status INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  component INTEGER NOT NULL,
  message TEXT NOT NULL,
  opened_at_ms INTEGER NOT NULL,
  closed_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY(node, issue_id)
) WITHOUT ROWID;
CREATE INDEX issues_open ON issues(closed_at_ms, node);
)sql",
    // 4: health snapshots (one row per region and one for the fleet, region '')
    // for trends; they outlive raw results, which are pruned by observed time.
    R"sql(
CREATE TABLE health_snapshots(
  region TEXT NOT NULL,
  taken_at_ms INTEGER NOT NULL,
  score REAL NOT NULL,
  compute REAL NOT NULL,
  storage REAL NOT NULL,
  network REAL NOT NULL,
  security REAL NOT NULL,
  builds REAL NOT NULL,
  nodes INTEGER NOT NULL,
  online INTEGER NOT NULL,
  open_crit INTEGER NOT NULL,
  open_warn INTEGER NOT NULL,
  PRIMARY KEY(region, taken_at_ms)
) WITHOUT ROWID;
CREATE INDEX health_snapshots_by_time ON health_snapshots(taken_at_ms);
CREATE INDEX check_results_by_time ON check_results(observed_at_ms);
-- Scoring reads every node in (region, node) order and only the stale latest
-- results: both indexes keep that from sorting or scanning at 10,000 nodes.
CREATE INDEX nodes_by_region ON nodes(region, node);
CREATE INDEX latest_results_by_time ON latest_results(observed_at_ms, node, component);
)sql",
    // 5: CI step attempts reported by `hale-agent exec` (BuildEvent).
    R"sql(
CREATE TABLE builds(
  node TEXT NOT NULL,
  build_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  command TEXT NOT NULL,
  exit_code INTEGER NOT NULL,
  category TEXT NOT NULL,
  secondary_category TEXT NOT NULL,
  confidence REAL NOT NULL,
  remedy TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  evidence TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY(node, build_id, attempt)
) WITHOUT ROWID;
CREATE INDEX builds_by_time ON builds(at_ms);
)sql",
    // 6: remediation decisions reported by agents (RemediationEvent).
    R"sql(
CREATE TABLE remediations(
  node TEXT NOT NULL,
  seq INTEGER NOT NULL,
  attempt_id INTEGER NOT NULL,
  issue_id INTEGER NOT NULL,
  check_name TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  exit_code INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY(node, seq)
) WITHOUT ROWID;
CREATE INDEX remediations_by_time ON remediations(at_ms);
)sql",
    // 7: statistics split repairs by whether a remediation healed the issue.
    R"sql(
CREATE INDEX remediations_by_issue ON remediations(node, issue_id, outcome);
)sql",
    // 8: CI build outcomes received by webhook, the outgoing notification
    // queue (survives restarts) and the notifier's scan watermark.
    R"sql(
CREATE TABLE ci_runs(
  source TEXT NOT NULL,
  run_id TEXT NOT NULL,
  status TEXT NOT NULL,
  repository TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  conclusion TEXT NOT NULL,
  branch TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  url TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  finished_at_ms INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL,
  PRIMARY KEY(source, run_id, status)
) WITHOUT ROWID;
CREATE INDEX ci_runs_by_time ON ci_runs(received_at_ms);
CREATE TABLE notifications(
  id INTEGER PRIMARY KEY,
  dedup_key TEXT NOT NULL UNIQUE,
  target TEXT NOT NULL,
  event TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL
);
CREATE INDEX notifications_due ON notifications(state, next_attempt_ms);
CREATE TABLE notify_state(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
)sql",
    // 9: region failover decisions (aggregator/failover); the highest epoch is
    // the current state, so a restarted aggregator continues the epoch.
    R"sql(
CREATE TABLE failover_decisions(
  epoch INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  from_region TEXT NOT NULL,
  to_region TEXT NOT NULL,
  reason TEXT NOT NULL
);
)sql",
};
}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

}  // namespace hale::aggregator::storage::sqlite
