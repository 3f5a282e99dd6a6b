#pragma once
// Durable home of every limiter's state (token buckets, cooldowns, attempt
// counters, breakers, crash-loop backoff) in the agent's SQLite file, so that
// restarting or reloading the agent never hands out a fresh budget. Values
// are small JSON objects keyed by a string such as "bucket:global".
#include "shared/sqlite/database.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace hale::agent::limits {

class LimitStore {
 public:
  /// Uses the limit_state table created by the agent's migrations.
  explicit LimitStore(sqlite::Database& db);

  /// The stored object, or an empty object when the key was never written.
  nlohmann::json get(std::string_view key);
  void put(std::string_view key, const nlohmann::json& value);
  void erase(std::string_view key);

 private:
  sqlite::Statement get_, put_, erase_;
};

}  // namespace hale::agent::limits
