#include "agent/state/state_store.h"

#include "agent/state/audit_log.h"
#include "shared/util/clock.h"
#include "shared/util/log.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace hale::agent::state {
namespace {
constexpr std::string_view kMigrations[] = {
    // 1: counters, check history, outbox.
    R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE check_results(
  id INTEGER PRIMARY KEY,
  check_name TEXT NOT NULL,
  status INTEGER NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL,
  observed_at_ms INTEGER NOT NULL,
  duration_us INTEGER NOT NULL
);
CREATE INDEX check_results_by_check ON check_results(check_name, observed_at_ms);
CREATE TABLE outbox(
  seq INTEGER PRIMARY KEY,
  payload BLOB NOT NULL,
  created_ms INTEGER NOT NULL
);
)sql",
    // 2: issues opened and closed by the hysteresis tracker.
    R"sql(
CREATE TABLE issues(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  check_name TEXT NOT NULL,
  status INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  component INTEGER NOT NULL,
  message TEXT NOT NULL,
  opened_at_ms INTEGER NOT NULL,
  closed_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX issues_open ON issues(closed_at_ms, check_name);
)sql",
    // 3: the hash-chained audit log, and what signed commands must never repeat.
    R"sql(
CREATE TABLE audit(
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TABLE audit_head(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TABLE command_nonces(nonce TEXT PRIMARY KEY, expires_at_ms INTEGER NOT NULL) WITHOUT ROWID;
)sql",
    // 4: CI steps run through `hale-agent exec`, one row per attempt.
    R"sql(
CREATE TABLE builds(
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
  PRIMARY KEY(build_id, attempt)
);
)sql",
    // 5: remediation: limiter state (buckets, cooldowns, breakers, backoff), attempts and
    // approvals, learned outcomes per (check kind, failure kind, action).
    R"sql(
CREATE TABLE limit_state(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE remedy_attempts(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  issue_id INTEGER NOT NULL,
  check_name TEXT NOT NULL,
  step INTEGER NOT NULL,
  action TEXT NOT NULL,
  state TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX remedy_attempts_by_state ON remedy_attempts(state, id);
CREATE TABLE strategy_stats(
  check_kind TEXT NOT NULL,
  failure_kind TEXT NOT NULL,
  action TEXT NOT NULL,
  successes INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(check_kind, failure_kind, action)
) WITHOUT ROWID;
)sql",
    // 6: no local result history. Nothing on the node read it, it grew by
    // every result of every check without bound, and writing it was a large
    // share of the agent's CPU; results travel in the outbox, and the
    // aggregator keeps the history.
    R"sql(
DROP INDEX check_results_by_check;
DROP TABLE check_results;
)sql",
};

// Members are prepared in the initializer list, so the schema must exist first.
sqlite::Database& migrated(sqlite::Database& db) {
  // The agent touches a few rows at the ends of small tables; SQLite's default
  // 2 MB page cache only filled up with outbox pages (footprint: +1.8 MB RSS
  // a minute into a run with no broker). 256 KB is plenty.
  db.exec("PRAGMA cache_size = -256");
  sqlite::migrate(db, kMigrations);
  return db;
}
}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

std::string StateStore::prepare(const std::string& state_dir, bool deep_check) {
  auto [path, reset] = prepareStateFile(state_dir, reserve_, deep_check);
  reset_ = std::move(reset);
  return path;
}

StateStore::StateStore(const std::string& state_dir, size_t outbox_max_messages, StateOptions options)
    : reserve_(state_dir + "/space-reserve", options.reserve_bytes), db_(prepare(state_dir, options.deep_check)),
      outbox_max_(outbox_max_messages), get_meta_(migrated(db_), "SELECT value FROM meta WHERE key = ?"),
      set_meta_(db_, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      outbox_insert_(db_, "INSERT OR REPLACE INTO outbox(seq, payload, created_ms) VALUES(?, ?, ?)"),
      outbox_delete_(db_, "DELETE FROM outbox WHERE seq = ?"), outbox_ack_(db_, "DELETE FROM outbox WHERE seq <= ?"),
      outbox_after_(db_, "SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?"),
      outbox_count_(db_, "SELECT count(*) FROM outbox"), outbox_first_(db_, "SELECT min(seq) FROM outbox"),
      outbox_evict_(db_, "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)"),
      issue_open_(db_,
                  "INSERT INTO issues(check_name, status, severity, component, message, opened_at_ms) "
                  "VALUES(?, ?, ?, ?, ?, ?)"),
      insert_build_(db_,
                    "INSERT OR REPLACE INTO builds(build_id, attempt, command, exit_code, category, "
                    "secondary_category, confidence, remedy, duration_ms, evidence, at_ms) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      issue_update_(db_, "UPDATE issues SET status = ?2, message = ?3, closed_at_ms = ?4 WHERE id = ?1"),
      issues_open_(db_,
                   "SELECT id, check_name, status, severity, component, message, opened_at_ms FROM issues "
                   "WHERE closed_at_ms = 0 ORDER BY id") {
  db_.onFull([this] { return makeRoom(); });
  // The reset is the first entry of the new audit chain.
  if (reset_)
    AuditLog(db_).append(unixMillisNow(), "agent", "state-reset", reset_->damaged_path, "executed",
                         "agent.db was damaged (" + reset_->reason + "); set aside, fresh state started");
  if (!reserve_.held()) reserve_.take();
}

bool StateStore::makeRoom() {
  space_low_ = true;
  if (!reserve_.release()) return false;
  log::warn("state", "file system of the state directory is full: space reserve given back to SQLite",
            {{"reserve_bytes", std::to_string(reserve_.bytes())}});
  return true;
}

bool StateStore::maintainSpace() {
  if (!space_low_ || !reserve_.take()) return false;
  space_low_ = false;
  log::info("state", "room again on the state's file system: space reserve taken back");
  return true;
}

uint64_t StateStore::openIssue(const wire::IssueRecord& issue) {
  issue_open_
      .with(issue.check, static_cast<int64_t>(issue.status), static_cast<int64_t>(issue.severity),
            static_cast<int64_t>(issue.component), issue.message, issue.opened_at_ms)
      .run();
  return static_cast<uint64_t>(db_.lastInsertRowid());
}

void StateStore::updateIssue(const wire::IssueRecord& issue) {
  issue_update_.with(issue.issue_id, static_cast<int64_t>(issue.status), issue.message, issue.closed_at_ms).run();
}

std::vector<wire::IssueRecord> StateStore::openIssues() {
  std::vector<wire::IssueRecord> out;
  issues_open_.reset();
  while (issues_open_.step()) {
    wire::IssueRecord r;
    r.issue_id = static_cast<uint64_t>(issues_open_.int64(0));
    r.check = issues_open_.text(1);
    r.status = static_cast<wire::CheckStatus>(issues_open_.int64(2));
    r.severity = static_cast<wire::CheckStatus>(issues_open_.int64(3));
    r.component = static_cast<wire::Component>(issues_open_.int64(4));
    r.message = issues_open_.text(5);
    r.opened_at_ms = issues_open_.int64(6);
    out.push_back(std::move(r));
  }
  issues_open_.reset();
  return out;
}

int64_t StateStore::metaInt(std::string_view key) {
  get_meta_.with(key);
  const int64_t v = get_meta_.step() ? get_meta_.int64(0) : 0;
  get_meta_.reset();
  return v;
}

void StateStore::setMetaInt(std::string_view key, int64_t value) { set_meta_.with(key, value).run(); }

uint64_t StateStore::nextSeq() { return increment("seq"); }

// `hale-agent exec` runs in its own process next to the daemon, on the same
// file: read and write in one immediate transaction so no number is handed out twice.
uint64_t StateStore::increment(std::string_view key) {
  return sqlite::transact(db_, [&] {
    const int64_t next = metaInt(key) + 1;
    setMetaInt(key, next);
    return static_cast<uint64_t>(next);
  });
}

void StateStore::recordBuild(const wire::BuildRecord& b) {
  nlohmann::json evidence = nlohmann::json::array();
  for (const auto& line : b.evidence) evidence.push_back(line);
  insert_build_
      .with(b.build_id, static_cast<int64_t>(b.attempt), b.command, static_cast<int64_t>(b.exit_code), b.category,
            b.secondary_category, static_cast<double>(b.confidence), b.remedy, static_cast<int64_t>(b.duration_ms),
            evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), b.at_ms)
      .run();
}

void StateStore::outboxPut(uint64_t seq, std::span<const uint8_t> payload) {
  sqlite::transact(db_, [&] { outboxInsert(seq, payload); });
}

uint64_t StateStore::outboxAppend(const std::function<std::vector<uint8_t>(uint64_t seq)>& build) {
  return sqlite::transact(db_, [&] {
    const auto seq = static_cast<uint64_t>(metaInt("seq") + 1);
    setMetaInt("seq", static_cast<int64_t>(seq));
    outboxInsert(seq, build(seq));
    return seq;
  });
}

void StateStore::outboxInsert(uint64_t seq, std::span<const uint8_t> payload) {
  outbox_insert_.reset();
  outbox_insert_.bind(1, seq).bindBlob(2, payload).bind(3, static_cast<int64_t>(unixMillisNow()));
  outbox_insert_.run();
  const size_t depth = outboxDepth();
  if (depth > outbox_max_) {
    const auto excess = static_cast<int64_t>(depth - outbox_max_);
    outbox_evict_.with(excess).run();
    setMetaInt("outbox_evicted", metaInt("outbox_evicted") + excess);
  }
}

void StateStore::outboxRemove(uint64_t seq) { outbox_delete_.with(seq).run(); }
void StateStore::outboxAckThrough(uint64_t seq) { outbox_ack_.with(seq).run(); }

std::vector<OutboxEntry> StateStore::outboxAfter(uint64_t after, size_t limit) {
  std::vector<OutboxEntry> out;
  outbox_after_.with(after, static_cast<int64_t>(limit));
  while (outbox_after_.step()) out.push_back({static_cast<uint64_t>(outbox_after_.int64(0)), outbox_after_.blob(1)});
  outbox_after_.reset();
  return out;
}

size_t StateStore::outboxDepth() {
  outbox_count_.reset();
  const size_t n = outbox_count_.step() ? static_cast<size_t>(outbox_count_.int64(0)) : 0;
  outbox_count_.reset();
  return n;
}

uint64_t StateStore::outboxFirstSeq() {
  outbox_first_.reset();
  const uint64_t v =
      outbox_first_.step() && !outbox_first_.isNull(0) ? static_cast<uint64_t>(outbox_first_.int64(0)) : 0;
  outbox_first_.reset();
  return v;
}

uint64_t StateStore::outboxEvicted() { return static_cast<uint64_t>(metaInt("outbox_evicted")); }

}  // namespace hale::agent::state
