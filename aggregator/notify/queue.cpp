#include "aggregator/notify/queue.h"

#include "shared/util/log.h"

namespace hale::aggregator::notify {
namespace {
constexpr size_t kBatch = 32;
constexpr int64_t kKeepMs = int64_t{7} * 24 * 3600 * 1000;
}  // namespace

bool Queue::add(const Target& t, const Message& m, int64_t now_ms) {
  const std::string key = dedupKey(t, m);
  // Most passes see the same open issues again: skip rendering what is queued already.
  if (rows_.contains(key)) return false;
  if (!rows_.enqueue(key, t.key(), eventName(m.event), renderBody(t.kind, m), now_ms)) return false;
  log::info("notify", "notification queued",
            {{"event", std::string(eventName(m.event))}, {"node", m.node}, {"check", m.check}, {"target", t.url_text}});
  return true;
}

std::vector<storage::DueNotification> Queue::due(int64_t now_ms) { return rows_.due(now_ms, kBatch); }

void Queue::markSent(int64_t id, int attempts, int64_t now_ms) {
  rows_.mark(id, storage::NotificationState::Sent, attempts, now_ms, "");
}

void Queue::markRetry(int64_t id, int attempts, int64_t next_attempt_ms, const std::string& error) {
  rows_.mark(id, storage::NotificationState::Pending, attempts, next_attempt_ms, error);
}

void Queue::markFailed(int64_t id, int attempts, int64_t now_ms, const std::string& error) {
  rows_.mark(id, storage::NotificationState::Failed, attempts, now_ms, error);
}

int64_t Queue::depth() { return rows_.pendingCount(); }

void Queue::prune(int64_t now_ms) { rows_.prune(now_ms - kKeepMs); }

}  // namespace hale::aggregator::notify
