#include "aggregator/notify/notifier.h"

#include "aggregator/notify/delivery.h"
#include "aggregator/notify/events.h"
#include "aggregator/notify/queue.h"
#include "aggregator/storage/store.h"
#include "shared/util/log.h"

#include <fmt/format.h>

#include <algorithm>

namespace hale::aggregator::notify {

// The worker's own connection, with the queue over it.
struct Notifier::Db {
  explicit Db(const std::string& path) : store(path), queue(store.notifications()) {}
  storage::Store store;
  Queue queue;
};

Notifier::Notifier(std::string database, Settings settings, const Clock& clock, RetryPolicy retry)
    : database_(std::move(database)), settings_(std::move(settings)), clock_(clock), retry_(std::move(retry)) {}

Notifier::~Notifier() { stop(); }

void Notifier::start() {
  if (settings_.targets.empty() || worker_.joinable()) return;
  worker_ = std::thread([this] { loop(); });
}

void Notifier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool Notifier::stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

void Notifier::regionFailover(const std::string& from, const std::string& to, uint64_t epoch,
                              const std::string& reason) {
  if (std::none_of(settings_.targets.begin(), settings_.targets.end(),
                   [](const Target& t) { return t.wants(Event::RegionFailover); }))
    return;
  Message m;
  m.event = Event::RegionFailover;
  m.region = from;
  m.issue = epoch;
  m.severity = "critical";
  m.message = fmt::format("region {} demoted, {} promoted (epoch {}): {}", from, to, epoch, reason);
  m.time_ms = toUnixMillis(clock_.wallNow());
  if (!settings_.link_base.empty()) m.link = settings_.link_base + "/api/v1/regions";
  {
    std::lock_guard lock(mu_);
    failovers_.push_back(std::move(m));
  }
  cv_.notify_all();
}

void Notifier::loop() {
  for (;;) {
    try {
      runOnce();
    } catch (const std::exception& e) {
      // A busy database skips one pass; the queue is still there next time.
      log::error("notify", "notification pass failed", {{"error", e.what()}});
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, settings_.poll_interval, [this] { return stopping_ || !failovers_.empty(); });
    if (stopping_) return;
  }
}

void Notifier::runOnce() {
  std::lock_guard pass(pass_mu_);
  if (!db_) db_ = std::make_unique<Db>(database_);
  const int64_t now = toUnixMillis(clock_.wallNow());
  scan(now);
  deliver(now);
  counters_.depth = db_->queue.depth();
}

void Notifier::queue(const Target& t, const Message& m, int64_t now_ms) {
  if (db_->queue.add(t, m, now_ms)) ++counters_.queued;
}

void Notifier::scan(int64_t now) {
  std::vector<Message> found;
  {
    std::lock_guard lock(mu_);
    found.swap(failovers_);
  }
  auto tx = db_->store.transaction();
  auto remediations = scanRemediations(db_->store, now, settings_.link_base);
  found.insert(found.end(), remediations.begin(), remediations.end());
  for (const auto& m : found)
    for (const auto& t : settings_.targets)
      if (t.wants(m.event)) queue(t, m, now);
  const auto open = db_->store.issues().openCritical();
  for (const auto& t : settings_.targets)
    if (t.wants(Event::UnfixedCritical))
      for (const auto& m : scanUnfixed(open, t, now, settings_.link_base)) queue(t, m, now);
  db_->queue.prune(now);
  tx.commit();
}

const Target* Notifier::targetOf(const std::string& key) const {
  for (const auto& t : settings_.targets)
    if (t.key() == key) return &t;
  return nullptr;
}

void Notifier::deliver(int64_t now) {
  for (const auto& due : db_->queue.due(now)) {
    if (stopping()) return;
    deliverOne(due, now);
  }
}

void Notifier::deliverOne(const storage::DueNotification& due, int64_t now) {
  const Target* t = targetOf(due.target);
  if (!t) {
    db_->queue.markFailed(due.id, due.attempts, now, "target no longer configured");
    ++counters_.failed;
    return;
  }
  const auto delivered = notify::deliver(*t, due.body);
  const int attempts = due.attempts + 1;
  if (delivered) {
    db_->queue.markSent(due.id, attempts, now);
    ++counters_.sent;
    return;
  }
  const std::string& error = delivered.error().message;
  const auto delay = retry_.nextDelay(*t, attempts);
  if (!delay) {
    db_->queue.markFailed(due.id, attempts, now, error);
    ++counters_.failed;
    log::error("notify", "notification abandoned",
               {{"target", t->url_text}, {"attempts", std::to_string(attempts)}, {"error", error}});
    return;
  }
  db_->queue.markRetry(due.id, attempts, now + delay->count(), error);
  ++counters_.retries;
  log::warn("notify", "notification delivery failed; will retry",
            {{"target", t->url_text}, {"attempt", std::to_string(attempts)}, {"error", error}});
}

void Notifier::appendMetrics(std::string& out) const {
  out += fmt::format(
      "# HELP hale_notifications_sent_total Outgoing notifications delivered.\n"
      "# TYPE hale_notifications_sent_total counter\nhale_notifications_sent_total {}\n"
      "# HELP hale_notifications_failed_total Outgoing notifications abandoned after max_attempts.\n"
      "# TYPE hale_notifications_failed_total counter\nhale_notifications_failed_total {}\n"
      "# HELP hale_notifications_retries_total Failed delivery attempts that were rescheduled.\n"
      "# TYPE hale_notifications_retries_total counter\nhale_notifications_retries_total {}\n"
      "# HELP hale_notifications_queue_depth Notifications waiting for delivery.\n"
      "# TYPE hale_notifications_queue_depth gauge\nhale_notifications_queue_depth {}\n",
      counters_.sent.load(), counters_.failed.load(), counters_.retries.load(), counters_.depth.load());
}

}  // namespace hale::aggregator::notify
