#include "aggregator/storage/sqlite/backup.h"

#include "aggregator/storage/sqlite/schema.h"
#include "aggregator/storage/sqlite/sqlite_connection.h"
#include "shared/sqlite/database.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>

namespace hale::aggregator::storage::sqlite {
namespace {
std::string utcStamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// The database with its WAL and shared-memory files, which belong to it.
std::string setAside(const std::string& db_path) {
  const std::string aside = fmt::format("{}.damaged-{}", db_path, utcStamp());
  std::filesystem::rename(db_path, aside);
  for (const char* suffix : {"-wal", "-shm"})
    if (std::filesystem::exists(db_path + suffix)) std::filesystem::rename(db_path + suffix, aside + suffix);
  return aside;
}

void requireKnownSchema(const std::string& backup_path) {
  hale::sqlite::Database check(backup_path);
  const auto known = static_cast<int64_t>(migrations().size());
  if (check.userVersion() > known)
    throw std::runtime_error(fmt::format("{} has schema version {}, newer than this aggregator's {}", backup_path,
                                         check.userVersion(), known));
}
}  // namespace

void backupTo(const std::string& db_path, const std::string& dest_path) {
  hale::sqlite::Database db(db_path);
  hale::sqlite::backup(db, dest_path);
}

Restored restoreFrom(const std::string& backup_path, const std::string& db_path) {
  requireKnownSchema(backup_path);
  Restored out;
  if (findDamage(db_path)) out.set_aside = setAside(db_path);
  hale::sqlite::Database db(db_path);
  hale::sqlite::restore(backup_path, db);
  return out;
}

}  // namespace hale::aggregator::storage::sqlite
