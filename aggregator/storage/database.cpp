#include "aggregator/storage/database.h"

#include "aggregator/storage/sqlite/schema.h"
#include "aggregator/storage/sqlite/sqlite_connection.h"

#include <fmt/format.h>

namespace hale::aggregator::storage {

ConnectionPtr openDatabase(const std::string& location, Verify verify) {
  if (location.starts_with("postgresql://") || location.starts_with("postgres://"))
    throw StorageError(StorageError::Kind::Other, "postgresql://",
                       "this build stores in SQLite only: set [aggregator] database to a file path");
  auto conn = std::make_unique<sqlite::SqliteConnection>(location);
  if (verify == Verify::QuickCheck)
    if (auto damage = conn->quickCheck())
      throw StorageError(StorageError::Kind::Damaged, location, fmt::format("quick_check: {}", *damage));
  conn->migrate(sqlite::migrations());
  return conn;
}

int64_t schemaVersion() { return static_cast<int64_t>(sqlite::migrations().size()); }

}  // namespace hale::aggregator::storage
