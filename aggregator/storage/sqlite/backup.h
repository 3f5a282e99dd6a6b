#pragma once
// Backup and restore of the aggregator's SQLite file (`hale-aggregator backup`
// and `restore`), through SQLite's online backup API.
#include <string>

namespace hale::aggregator::storage::sqlite {

/// Copies the live database at `db_path` to a new file `dest_path` while the
/// aggregator may keep writing; the copy is integrity-checked.
void backupTo(const std::string& db_path, const std::string& dest_path);

struct Restored {
  std::string set_aside;  ///< where the damaged file went; empty when it was intact
};

/// Replaces the database at `db_path` with the backup at `backup_path`
/// (checked first: intact, schema not newer than this build). A damaged
/// database file (and its -wal and -shm) is moved aside to
/// `<db_path>.damaged-<UTC time>`, kept for inspection, and the backup is
/// restored into a fresh file. The aggregator must be stopped.
Restored restoreFrom(const std::string& backup_path, const std::string& db_path);

}  // namespace hale::aggregator::storage::sqlite
