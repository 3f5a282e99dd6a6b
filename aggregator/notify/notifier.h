#pragma once
// Outgoing notifications: Slack-compatible ({"text": ...}) or generic JSON
// webhooks, optionally signed with X-Hale-Signature-256: sha256=<hex HMAC-SHA256
// of the body>, for
//   unfixed_critical    a critical issue still open after unfixed_after, or at
//                       once when a remediation for it failed
//   remediation_failed  a RemediationEvent with outcome Failed
//   breaker_open        a remediation stopped by an open circuit breaker
//   region_failover     regionFailover(), called by the failover logic
// A worker thread (never the io thread) runs passes: scan the store for events
// (events.h), queue them in the database (queue.h: they survive restarts, one
// per (target, event, node, check, issue)), deliver what is due (delivery.h)
// and reschedule failures (retry_policy.h) until max_attempts.
#include "aggregator/notify/message.h"
#include "aggregator/notify/notify_config.h"
#include "aggregator/notify/retry_policy.h"
#include "aggregator/storage/notifications.h"
#include "shared/util/clock.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hale::aggregator::notify {

struct Counters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> failed{0};   ///< given up after max_attempts
  std::atomic<uint64_t> retries{0};  ///< failed attempts that were rescheduled
  std::atomic<uint64_t> queued{0};
  std::atomic<int64_t> depth{0};  ///< pending in the queue at the last pass
};

class Notifier {
 public:
  /// `database` is the aggregator's database; passes use their own connection to it.
  /// `clock` decides what is due (tests move a FakeClock past a retry delay).
  Notifier(std::string database, Settings settings, const Clock& clock = RealClock::instance(),
           RetryPolicy retry = RetryPolicy());
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void start();
  void stop();

  /// Queues a region_failover notification (any thread): `from` demoted, `to` promoted.
  void regionFailover(const std::string& from, const std::string& to, uint64_t epoch, const std::string& reason);

  const Counters& counters() const { return counters_; }
  /// Prometheus text for /metrics.
  void appendMetrics(std::string& out) const;
  /// One scan-and-deliver pass now, on the calling thread (tests; the worker calls it too).
  void runOnce();

 private:
  struct Db;
  void loop();
  void scan(int64_t now_ms);
  void deliver(int64_t now_ms);
  void deliverOne(const storage::DueNotification& due, int64_t now_ms);
  void queue(const Target& t, const Message& m, int64_t now_ms);
  const Target* targetOf(const std::string& key) const;
  bool stopping();

  std::string database_;
  Settings settings_;
  const Clock& clock_;
  RetryPolicy retry_;
  Counters counters_;
  std::unique_ptr<Db> db_;  ///< opened on first use by whichever thread runs passes
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<Message> failovers_;  ///< guarded by mu_
  std::mutex pass_mu_;              ///< one pass at a time
  std::thread worker_;
};

}  // namespace hale::aggregator::notify
