#pragma once
// The outgoing queue, kept in the database (storage::NotificationRepository)
// so it survives restarts: one row per dedup key, rendered for its target
// when queued, marked sent, retried or abandoned by the notifier.
#include "aggregator/notify/message.h"
#include "aggregator/storage/notifications.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hale::aggregator::notify {

class Queue {
 public:
  explicit Queue(storage::NotificationRepository& rows) : rows_(rows) {}

  /// Queues `m` for `t` unless it was queued before; true when queued now.
  bool add(const Target& t, const Message& m, int64_t now_ms);
  /// What is due at `now_ms`, oldest first.
  std::vector<storage::DueNotification> due(int64_t now_ms);
  void markSent(int64_t id, int attempts, int64_t now_ms);
  void markRetry(int64_t id, int attempts, int64_t next_attempt_ms, const std::string& error);
  void markFailed(int64_t id, int attempts, int64_t now_ms, const std::string& error);
  int64_t depth();
  /// Delivered and abandoned rows are kept a week (dedup, inspection).
  void prune(int64_t now_ms);

 private:
  storage::NotificationRepository& rows_;
};

}  // namespace hale::aggregator::notify
