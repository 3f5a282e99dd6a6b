#pragma once
// Opens the aggregator's database: picks the backend for `location` and
// brings its schema up to date. Every module that stores something reaches
// the database through a repository over the connection this returns.
#include "aggregator/storage/sql/connection.h"

#include <string>

namespace hale::aggregator::storage {

enum class Verify {
  No,          ///< another connection of a running aggregator (workers)
  QuickCheck,  ///< the aggregator's start: refuse a damaged file (PRAGMA quick_check)
};

/// A SQLite file path (":memory:" for tests). Throws StorageError: Kind::Damaged
/// for a damaged database, Kind::Newer for a schema from a newer aggregator.
ConnectionPtr openDatabase(const std::string& location, Verify verify = Verify::No);

/// Schema version this build writes (the number of migrations it knows).
int64_t schemaVersion();

}  // namespace hale::aggregator::storage
