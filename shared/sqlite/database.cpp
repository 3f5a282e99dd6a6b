#include "shared/sqlite/database.h"

#include <fmt/format.h>

namespace hale::sqlite {

Database::Database(const std::string& path) : path_(path) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw SqliteError(fmt::format("cannot open database '{}': {}", path, msg), rc);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec("PRAGMA journal_mode=WAL");
    // NORMAL in WAL mode: durable against process crashes, may lose the last
    // commits on power loss; FULL costs an fsync per transaction.
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
  } catch (...) {
    // A file that is not a database fails here; the destructor will not run.
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Database::~Database() { sqlite3_close_v2(db_); }

void Database::raise(std::string_view what, int code) const {
  throw SqliteError(fmt::format("{}: {} ({})", what, sqlite3_errmsg(db_), path_), code);
}

void Database::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw SqliteError(fmt::format("sqlite exec failed: {} ({})", msg, path_), rc);
  }
}

int64_t Database::userVersion() {
  Statement s(*this, "PRAGMA user_version");
  return s.step() ? s.int64(0) : 0;
}

Statement::Statement(Database& db, std::string_view sql) : db_(&db) {
  const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &stmt_, nullptr);
  if (rc != SQLITE_OK) db.raise(fmt::format("cannot prepare '{}'", sql), rc);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, int64_t value) {
  if (int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) db_->raise("bind", rc);
  return *this;
}
Statement& Statement::bind(int index, double value) {
  if (int rc = sqlite3_bind_double(stmt_, index, value); rc != SQLITE_OK) db_->raise("bind", rc);
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  if (int rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      rc != SQLITE_OK)
    db_->raise("bind", rc);
  return *this;
}
Statement& Statement::bindBlob(int index, std::span<const uint8_t> blob) {
  if (int rc = sqlite3_bind_blob(stmt_, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      rc != SQLITE_OK)
    db_->raise("bind", rc);
  return *this;
}
Statement& Statement::bindNull(int index) {
  if (int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) db_->raise("bind", rc);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  // Outside a transaction SQLite rolled the statement's own implicit
  // transaction back, so running it again after making room is safe (inside
  // one, transact() runs the whole transaction again).
  if (isFull(rc) && !db_->inTransaction() && db_->makeRoom()) {
    sqlite3_reset(stmt_);  // keeps the bindings
    rc = sqlite3_step(stmt_);
  }
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);
  db_->raise("step", rc);
}

int Statement::run() {
  while (step()) {}
  const int changed = sqlite3_changes(db_->handle());
  reset();
  return changed;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

std::vector<uint8_t> Statement::blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
  ++db_.transaction_depth_;
}

Transaction::~Transaction() {
  --db_.transaction_depth_;
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
      // Rollback fails only if SQLite already rolled back; nothing left to undo.
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

namespace {
void copyDatabase(sqlite3* from, sqlite3* to, const std::string& what) {
  sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
  if (!b) throw SqliteError(fmt::format("{}: {}", what, sqlite3_errmsg(to)), sqlite3_errcode(to));
  int rc;
  // 256 pages per step: writers get the lock back between steps.
  while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
    sqlite3_sleep(rc == SQLITE_OK ? 0 : 5);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) throw SqliteError(fmt::format("{}: {}", what, sqlite3_errstr(rc)), rc);
}

void requireIntact(Database& db) {
  Statement check(db, "PRAGMA integrity_check");
  const std::string verdict = check.step() ? check.text(0) : "no answer";
  if (verdict != "ok")
    throw SqliteError(fmt::format("{} failed its integrity check: {}", db.path(), verdict), SQLITE_CORRUPT);
}
}  // namespace

void backup(Database& src, const std::string& dest_path) {
  Database dest(dest_path);
  copyDatabase(src.handle(), dest.handle(), fmt::format("backup of {} to {}", src.path(), dest_path));
  requireIntact(dest);
}

void restore(const std::string& src_path, Database& dest) {
  Database src(src_path);
  requireIntact(src);
  copyDatabase(src.handle(), dest.handle(), fmt::format("restore of {} from {}", dest.path(), src_path));
}

void migrate(Database& db, std::span<const std::string_view> migrations) {
  const int64_t current = db.userVersion();
  const auto known = static_cast<int64_t>(migrations.size());
  if (current > known)
    throw SqliteError(
        fmt::format("database '{}' has schema version {}, newer than this binary's {}", db.path(), current, known),
        SQLITE_MISMATCH);
  for (int64_t v = current; v < known; ++v) {
    Transaction tx(db);
    db.exec(migrations[static_cast<size_t>(v)]);
    db.exec(fmt::format("PRAGMA user_version = {}", v + 1));
    tx.commit();
  }
}

}  // namespace hale::sqlite
