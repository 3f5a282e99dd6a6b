#include "aggregator/storage/sqlite/sqlite_connection.h"

#include <fmt/format.h>

#include <filesystem>
#include <vector>

namespace hale::aggregator::storage::sqlite {
namespace {
using hale::sqlite::SqliteError;

StorageError translate(const SqliteError& e, const std::string& location) {
  if (isDamageCode(e.code())) return StorageError(StorageError::Kind::Damaged, location, e.what());
  if (e.code() == SQLITE_MISMATCH) return StorageError(StorageError::Kind::Newer, location, e.what());
  return StorageError(StorageError::Kind::Other, location, e.what());
}

// Runs `body`; a damaged file surfaces as StorageError so callers need no SQLite codes.
template <class F>
auto translated(const std::string& location, F&& body) {
  try {
    return body();
  } catch (const SqliteError& e) {
    throw translate(e, location);
  }
}

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(hale::sqlite::Database& db, std::string_view sql) : stmt_(db, sql), location_(db.path()) {
    // $N -> SQLite's index for it; a number the text does not use maps to 0 (refused on bind).
    const int count = stmt_.parameterCount();
    index_.assign(static_cast<size_t>(count) + 1, 0);
    for (int n = 1; n <= count; ++n)
      index_[static_cast<size_t>(n)] = stmt_.parameterIndex(fmt::format("${}", n).c_str());
  }

  void bindInt(int index, int64_t value) override { stmt_.bind(slot(index), value); }
  void bindReal(int index, double value) override { stmt_.bind(slot(index), value); }
  void bindText(int index, std::string_view value) override { stmt_.bind(slot(index), value); }
  void bindNull(int index) override { stmt_.bindNull(slot(index)); }
  bool step() override {
    return translated(location_, [&] { return stmt_.step(); });
  }
  int64_t run() override {
    return translated(location_, [&] { return static_cast<int64_t>(stmt_.run()); });
  }
  void reset() override { stmt_.reset(); }
  int64_t int64(int column) const override { return stmt_.int64(column); }
  double real(int column) const override { return stmt_.real(column); }
  std::string text(int column) const override { return stmt_.text(column); }
  bool isNull(int column) const override { return stmt_.isNull(column); }

 private:
  int slot(int index) const {
    const int mapped = index > 0 && static_cast<size_t>(index) < index_.size() ? index_[static_cast<size_t>(index)] : 0;
    if (mapped == 0) throw std::logic_error(fmt::format("the statement has no parameter ${}", index));
    return mapped;
  }

  hale::sqlite::Statement stmt_;
  std::string location_;
  std::vector<int> index_;
};

hale::sqlite::Database openFile(const std::string& path) {
  return translated(path, [&] { return hale::sqlite::Database(path); });
}
}  // namespace

bool isDamageCode(int code) {
  const int primary = code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

SqliteConnection::SqliteConnection(const std::string& path) : db_(openFile(path)) {}

StatementPtr SqliteConnection::prepare(std::string_view sql) {
  return translated(db_.path(), [&] { return std::make_unique<SqliteStatement>(db_, sql); });
}

void SqliteConnection::begin() {
  translated(db_.path(), [&] { db_.exec("BEGIN IMMEDIATE"); });
}

void SqliteConnection::commit() {
  translated(db_.path(), [&] { db_.exec("COMMIT"); });
}

void SqliteConnection::rollback() { db_.exec("ROLLBACK"); }

void SqliteConnection::migrate(std::span<const std::string_view> migrations) {
  translated(db_.path(), [&] { hale::sqlite::migrate(db_, migrations); });
}

std::string SqliteConnection::indexHint(std::string_view index) const {
  // Without ANALYZE statistics SQLite's planner may scan instead.
  return fmt::format(" INDEXED BY {}", index);
}

std::optional<std::string> SqliteConnection::quickCheck() {
  return translated(db_.path(), [&]() -> std::optional<std::string> {
    hale::sqlite::Statement check(db_, "PRAGMA quick_check(1)");
    const std::string verdict = check.step() ? check.text(0) : "no answer from PRAGMA quick_check";
    if (verdict == "ok") return std::nullopt;
    return verdict;
  });
}

std::optional<std::string> findDamage(const std::string& path) {
  if (path != ":memory:" && !std::filesystem::exists(path)) return std::nullopt;
  try {
    SqliteConnection conn(path);
    return conn.quickCheck();
  } catch (const StorageError& e) {
    if (e.kind() == StorageError::Kind::Damaged) return std::string(e.what());
    throw;
  }
}

}  // namespace hale::aggregator::storage::sqlite
