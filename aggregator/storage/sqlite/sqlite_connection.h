#pragma once
// storage::Connection on SQLite (shared/sqlite: WAL, statements prepared once).
// PostgreSQL-style placeholders are mapped by name: SQLite reads "$1" as a
// named parameter, and sqlite3_bind_parameter_index finds where it stands.
#include "aggregator/storage/sql/connection.h"
#include "shared/sqlite/database.h"

#include <optional>
#include <string>

namespace hale::aggregator::storage::sqlite {

class SqliteConnection final : public Connection {
 public:
  /// Opens (creating) the database file; ":memory:" works for tests. Throws
  /// StorageError (Kind::Damaged) for a file that is not a database.
  explicit SqliteConnection(const std::string& path);

  StatementPtr prepare(std::string_view sql) override;
  void begin() override;
  void commit() override;
  void rollback() override;
  void migrate(std::span<const std::string_view> migrations) override;
  std::string indexHint(std::string_view index) const override;
  std::string location() const override { return db_.path(); }

  /// PRAGMA quick_check: the first problem it reports, or nullopt when the file is intact.
  std::optional<std::string> quickCheck();

 private:
  hale::sqlite::Database db_;
};

/// True for the SQLite result codes of a damaged file (SQLITE_CORRUPT, SQLITE_NOTADB).
bool isDamageCode(int code);

/// What is wrong with the database file at `path`, or nullopt when it opens,
/// reads and passes PRAGMA quick_check. A missing file is not damaged.
std::optional<std::string> findDamage(const std::string& path);

}  // namespace hale::aggregator::storage::sqlite
