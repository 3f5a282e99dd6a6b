#pragma once
// Turns MQTT messages into stored rows: verify every buffer, check that the
// sender is who the topic says, batch, and write one transaction per batch.
// Nothing a sender puts on the wire can crash the aggregator; bad messages are
// counted and logged at most once per sender per minute.
#include "aggregator/storage/store.h"
#include "shared/util/clock.h"
#include "shared/util/log.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hale::aggregator::ingest {

/// Upper bounds (seconds) of the end-to-end latency histogram: envelope sent_at -> committed.
inline constexpr double kLatencyBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1.0,   2.5,  5.0,   10.0, 30.0};

struct Counters {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> stored{0};
  std::atomic<uint64_t> duplicates{0};
  std::atomic<uint64_t> invalid{0};
  std::atomic<uint64_t> status_updates{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> store_errors{0};
  /// Committed messages per latency bucket (not cumulative); the last is +Inf.
  std::array<std::atomic<uint64_t>, std::size(kLatencyBuckets) + 1> latency{};
  std::atomic<uint64_t> latency_sum_ms{0};
};

struct Settings {
  std::chrono::milliseconds batch_interval{50};
  size_t batch_max = 500;
};

class Ingestor {
 public:
  /// `clock` stamps receipt and commit times (the batch timer runs on `io`).
  Ingestor(asio::io_context& io, storage::Store& store, Settings settings, const Clock& clock = RealClock::instance());

  /// Called after a commit with the highest contiguous seq stored for a node.
  using AckFn = std::function<void(const std::string& region, const std::string& node, uint64_t seq)>;
  void onAck(AckFn fn) { on_ack_ = std::move(fn); }

  /// Handles one message from the broker (on the io thread).
  void onMessage(const std::string& topic, const std::string& payload);
  /// Writes what is pending now.
  void flush();

  const Counters& counters() const { return counters_; }
  size_t pending() const { return pending_.size(); }

 private:
  void handleTelemetry(const std::string& region, const std::string& node, const std::string& payload);
  void handleStatus(const std::string& region, const std::string& node, const std::string& payload);
  void reject(const std::string& sender, const std::string& why);
  void armTimer();
  void advanceAcks(const std::vector<storage::IngestItem>& committed);
  void recordLatency(const std::vector<storage::IngestItem>& committed);

  struct AckState {
    bool loaded = false;
    uint64_t acked = 0;
    uint64_t published = 0;
  };
  std::unordered_map<std::string, AckState> acks_;
  AckFn on_ack_;

  int64_t nowMs() const { return toUnixMillis(clock_.wallNow()); }

  storage::Store& store_;
  Settings settings_;
  const Clock& clock_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::vector<storage::IngestItem> pending_;
  std::unordered_map<std::string, std::string> regions_;  ///< node -> region it first reported from
  Counters counters_;
  log::RateLimiter reject_log_{std::chrono::minutes(1)};
};

}  // namespace hale::aggregator::ingest
