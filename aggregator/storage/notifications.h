#pragma once
// Table owner of `notifications` (the outgoing queue: it survives restarts,
// one row per dedup key) and `notify_state` (the notifier's watermarks).
#include "aggregator/storage/sql/connection.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

/// A queued notification that is due for delivery.
struct DueNotification {
  int64_t id = 0;
  std::string target;  ///< the target's key (kind and url)
  std::string body;
  int attempts = 0;
};

/// Rows leave `pending` for good as sent or failed.
enum class NotificationState { Pending, Sent, Failed };

class NotificationRepository {
 public:
  explicit NotificationRepository(Connection& conn);

  bool contains(const std::string& dedup_key);
  /// Queues a pending notification; false when its dedup key is queued already.
  bool enqueue(const std::string& dedup_key, const std::string& target, std::string_view event, const std::string& body,
               int64_t now_ms);
  /// Pending notifications due at `now_ms`, oldest first, at most `limit`.
  std::vector<DueNotification> due(int64_t now_ms, size_t limit);
  void mark(int64_t id, NotificationState state, int attempts, int64_t next_attempt_ms, const std::string& error);
  int64_t pendingCount();
  /// Deletes sent and failed rows created before `before_ms`.
  void prune(int64_t before_ms);

  std::optional<int64_t> stateValue(const std::string& key);
  void setStateValue(const std::string& key, int64_t value);

 private:
  StatementPtr exists_, insert_, due_, mark_, depth_, prune_, get_state_, set_state_;
};

}  // namespace hale::aggregator::storage
