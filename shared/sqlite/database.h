#pragma once
// A thin RAII layer over SQLite: statements are prepared once and reused
// (SQLITE_PREPARE_PERSISTENT), transactions roll back unless committed, and the
// schema is migrated forward by PRAGMA user_version.
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace hale::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

class Database;

class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;

  // Bind by 1-based index.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, uint64_t value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Statement& bindBlob(int index, std::span<const uint8_t> blob);
  Statement& bindNull(int index);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bindNull(index);
  }

  /// Binds all arguments in order, starting at index 1, after a reset.
  template <class... Args>
  Statement& with(const Args&... args) {
    reset();
    int i = 1;
    (bind(i++, args), ...);
    return *this;
  }

  /// Advances; true while a row is available.
  bool step();
  /// Runs to completion (for writes); returns sqlite3_changes.
  int run();
  void reset();

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string text(int col) const;
  std::vector<uint8_t> blob(int col) const;
  bool isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  /// Index of a named parameter ("$1", ":name"); 0 when the statement has none of that name.
  int parameterIndex(const char* name) const { return sqlite3_bind_parameter_index(stmt_, name); }
  int parameterCount() const { return sqlite3_bind_parameter_count(stmt_); }

 private:
  Database* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  /// Opens (creating) a database file in WAL mode. ":memory:" works for tests.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  int64_t userVersion();
  int64_t lastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  [[noreturn]] void raise(std::string_view what, int code) const;

  /// Called when a write fails for lack of space (SQLITE_FULL). It returns
  /// true when it made room (the agent gives back its space reserve); the
  /// failed write is then tried once more: a statement outside a transaction
  /// at once, a transaction by transact(). Unset: the error is thrown.
  void onFull(std::function<bool()> make_room) { make_room_ = std::move(make_room); }
  bool makeRoom() const { return make_room_ && make_room_(); }
  /// True between a Transaction's BEGIN and its end.
  bool inTransaction() const { return transaction_depth_ > 0; }

 private:
  friend class Transaction;
  sqlite3* db_ = nullptr;
  std::string path_;
  std::function<bool()> make_room_;
  int transaction_depth_ = 0;
};

/// True for SQLITE_FULL and its extended codes: the disk (or max_page_count) is full.
inline bool isFull(int code) { return (code & 0xff) == SQLITE_FULL; }
/// True for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB and their extended codes.
inline bool isDamaged(int code) { return (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB; }

/// Commits only when commit() is called; otherwise rolls back on destruction.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

/// Runs `body` in one immediate transaction and commits it. When a write
/// fails for lack of space, SQLite has rolled the whole transaction back; if
/// the database's room maker freed space, `body` runs once more from the
/// start, so nothing is applied twice. `body` must touch nothing outside the
/// database before it returns.
template <class Body>
auto transact(Database& db, Body&& body) {
  for (int attempt = 0;; ++attempt) {
    try {
      Transaction tx(db);
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        tx.commit();
        return;
      } else {
        auto result = body();
        tx.commit();
        return result;
      }
    } catch (const SqliteError& e) {
      if (attempt > 0 || !isFull(e.code()) || !db.makeRoom()) throw;
    }
  }
}

/// Copies a live database into `dest_path` with SQLite's online backup API:
/// consistent while writers keep writing (they are not blocked for the whole
/// copy, only per step). The copy is checked with PRAGMA integrity_check.
void backup(Database& src, const std::string& dest_path);
/// Replaces the content of `dest` with the database file at `src_path` (checked first).
void restore(const std::string& src_path, Database& dest);

/// Migration i (0-based) brings the schema from version i to i+1. Applies, in
/// one transaction each, every migration past the file's user_version.
/// Throws when the file is newer than this binary knows.
void migrate(Database& db, std::span<const std::string_view> migrations);

}  // namespace hale::sqlite
