#include "agent/limits/limit_store.h"

namespace hale::agent::limits {

LimitStore::LimitStore(sqlite::Database& db)
    : get_(db, "SELECT value FROM limit_state WHERE key = ?"),
      put_(db,
           "INSERT INTO limit_state(key, value) VALUES(?, ?) "
           "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      erase_(db, "DELETE FROM limit_state WHERE key = ?") {}

nlohmann::json LimitStore::get(std::string_view key) {
  get_.with(key);
  nlohmann::json out = nlohmann::json::object();
  if (get_.step()) {
    // A row we cannot parse (hand-edited file) counts as fresh state, not a crash.
    out = nlohmann::json::parse(get_.text(0), nullptr, false);
    if (out.is_discarded() || !out.is_object()) out = nlohmann::json::object();
  }
  get_.reset();
  return out;
}

void LimitStore::put(std::string_view key, const nlohmann::json& value) { put_.with(key, value.dump()).run(); }

void LimitStore::erase(std::string_view key) { erase_.with(key).run(); }

}  // namespace hale::agent::limits
