#pragma once
// Outgoing notifications: Slack-compatible ({"text": ...}) or generic JSON
// webhooks, optionally signed with X-Hale-Signature-256: sha256=<hex HMAC-SHA256
// of the body>, for
//   unfixed_critical    a critical issue still open after unfixed_after, or at
//                       once when a remediation for it failed
//   remediation_failed  a RemediationEvent with outcome Failed
//   breaker_open        a remediation stopped by an open circuit breaker
//   region_failover     regionFailover(), called by the failover logic
// A worker thread (never the io thread) scans the store, queues notifications
// in SQLite (table notifications: they survive restarts, one per (target,
// event, node, check, issue)) and delivers them with exponential backoff and
// jitter, giving up after max_attempts.
#include "shared/config/config.h"
#include "shared/net/http_client.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hale::aggregator::notify {

enum class Event { UnfixedCritical, RemediationFailed, BreakerOpen, RegionFailover };
std::string_view eventName(Event e);
std::optional<Event> eventFromName(std::string_view name);

struct Target {
  std::string kind;  ///< "slack" or "webhook"
  std::string url_text;
  net::Url url;
  std::optional<std::string> secret;  ///< HMAC key; unset: unsigned
  std::vector<Event> events;          ///< the events sent to this target
  std::chrono::milliseconds unfixed_after{std::chrono::minutes(10)};
  int max_attempts = 8;
  std::chrono::milliseconds retry_initial{std::chrono::seconds(2)};
  std::chrono::milliseconds retry_cap{std::chrono::minutes(5)};
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::string ca_file = net::TlsTrust::kSystemBundle;  ///< trust for https:// URLs

  std::string key() const { return kind + " " + url_text; }
  bool wants(Event e) const;
};

struct Settings {
  std::vector<Target> targets;
  std::string link_base;  ///< e.g. "http://127.0.0.1:8080": links point at the API below it
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
};

/// A secret from `file_key` (a file) or `env_key` (an environment variable),
/// never inline; surrounding whitespace trimmed; at least 16 characters.
std::optional<std::string> readSecret(const config::Fields& f, const std::string& file_key, const std::string& env_key);

/// [[notify]] tables; throws config::ConfigError with file:line:col.
std::vector<Target> readTargets(const toml::table& root, const std::string& path);
std::span<const config::FieldSpec> notifyFields();

/// What one notification says; bodies are rendered from it when queued.
struct Message {
  Event event = Event::UnfixedCritical;
  std::string node, region, check;
  uint64_t issue = 0;    ///< the issue id, or the failover epoch
  std::string severity;  ///< critical, error
  std::string message;
  int64_t time_ms = 0;
  std::string link;
};

/// The request body for `kind` ("slack": {"text"}, "webhook": the fields).
std::string renderBody(const std::string& kind, const Message& m);

struct Counters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> failed{0};   ///< given up after max_attempts
  std::atomic<uint64_t> retries{0};  ///< failed attempts that were rescheduled
  std::atomic<uint64_t> queued{0};
  std::atomic<int64_t> depth{0};  ///< pending in the queue at the last pass
};

class Notifier {
 public:
  /// `database` is the aggregator's SQLite file (migrated already); the worker opens its own connection.
  Notifier(std::string database, Settings settings);
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
  void loop();
  void scan(int64_t now_ms);
  void deliver(int64_t now_ms);
  void enqueue(const Target& t, const Message& m, int64_t now_ms);

  struct Db;
  std::string database_;
  Settings settings_;
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
