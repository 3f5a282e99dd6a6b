#include "aggregator/storage/notifications.h"

namespace hale::aggregator::storage {
namespace {
std::string_view stateName(NotificationState s) {
  switch (s) {
    case NotificationState::Pending:
      return "pending";
    case NotificationState::Sent:
      return "sent";
    case NotificationState::Failed:
      return "failed";
  }
  return "failed";
}
}  // namespace

NotificationRepository::NotificationRepository(Connection& conn)
    : exists_(conn.prepare("SELECT 1 FROM notifications WHERE dedup_key = $1")),
      insert_(conn.prepare(
          "INSERT INTO notifications(dedup_key, target, event, body, state, attempts, next_attempt_ms, created_ms, "
          "last_error) VALUES($1, $2, $3, $4, 'pending', 0, $5, $5, '') ON CONFLICT DO NOTHING")),
      due_(conn.prepare(
          "SELECT id, target, body, attempts FROM notifications WHERE state = 'pending' AND next_attempt_ms <= $1 "
          "ORDER BY next_attempt_ms, id LIMIT $2")),
      mark_(conn.prepare(
          "UPDATE notifications SET state = $2, attempts = $3, next_attempt_ms = $4, last_error = $5 WHERE id = $1")),
      depth_(conn.prepare("SELECT count(*) FROM notifications WHERE state = 'pending'")),
      prune_(conn.prepare("DELETE FROM notifications WHERE state != 'pending' AND created_ms < $1")),
      get_state_(conn.prepare("SELECT value FROM notify_state WHERE key = $1")),
      set_state_(conn.prepare("INSERT INTO notify_state(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE SET "
                              "value = excluded.value")) {}

bool NotificationRepository::contains(const std::string& dedup_key) {
  const bool known = exists_->with(dedup_key).step();
  exists_->reset();
  return known;
}

bool NotificationRepository::enqueue(const std::string& dedup_key, const std::string& target, std::string_view event,
                                     const std::string& body, int64_t now_ms) {
  return insert_->with(dedup_key, target, event, body, now_ms).run() > 0;
}

std::vector<DueNotification> NotificationRepository::due(int64_t now_ms, size_t limit) {
  std::vector<DueNotification> out;
  due_->with(now_ms, limit);
  while (due_->step()) out.push_back({due_->int64(0), due_->text(1), due_->text(2), static_cast<int>(due_->int64(3))});
  due_->reset();
  return out;
}

void NotificationRepository::mark(int64_t id, NotificationState state, int attempts, int64_t next_attempt_ms,
                                  const std::string& error) {
  mark_->with(id, stateName(state), attempts, next_attempt_ms, error).run();
}

int64_t NotificationRepository::pendingCount() {
  depth_->reset();
  const int64_t n = depth_->step() ? depth_->int64(0) : 0;
  depth_->reset();  // an unfinished read would pin an old snapshot and make the next write BUSY
  return n;
}

void NotificationRepository::prune(int64_t before_ms) { prune_->with(before_ms).run(); }

std::optional<int64_t> NotificationRepository::stateValue(const std::string& key) {
  get_state_->with(key);
  std::optional<int64_t> v;
  if (get_state_->step()) v = get_state_->int64(0);
  get_state_->reset();
  return v;
}

void NotificationRepository::setStateValue(const std::string& key, int64_t value) {
  set_state_->with(key, value).run();
}

}  // namespace hale::aggregator::storage
