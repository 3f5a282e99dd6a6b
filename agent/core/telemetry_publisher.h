#pragma once
// What the agent tells the aggregator, and how it gets there. Check results
// are batched (one message per batch interval or per batch_max_results),
// heartbeats go out on their own timer, and events are sent as they come; all
// of them pass through the SQLite outbox with the node's sequence number. The
// pump sends outbox messages in sequence order, at most kPublishWindow awaiting
// the broker's PUBACK, paced by a token bucket so a fleet back from an outage
// replays its backlogs without flooding the aggregator. A PUBACK is not proof
// of storage (a broker may drop queued messages, or crash), so a message
// leaves the outbox only when the aggregator's ack says it is committed;
// unacked ones are replayed, on reconnect and when acks stop coming.
#include "agent/state/state_store.h"
#include "shared/mqtt/client.h"
#include "shared/util/log.h"
#include "shared/util/pacer.h"
#include "shared/wire/envelope.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace hale::agent {

struct TelemetrySettings {
  std::string node;
  std::string region;
  std::chrono::milliseconds batch_interval{1'000};
  size_t batch_max_results = 200;
  std::chrono::milliseconds heartbeat_interval{10'000};
  std::chrono::milliseconds ack_timeout{10'000};
  int64_t replay_rate = 500;  ///< messages per second at most
};

class TelemetryPublisher {
 public:
  using Build = std::function<std::vector<uint8_t>(const wire::EnvelopeHeader& header)>;

  /// `mqtt` may be null (no broker configured): messages then only join the outbox.
  /// `checks_total` is asked at each heartbeat.
  TelemetryPublisher(asio::io_context& io, state::StateStore& store, mqtt::Client* mqtt, TelemetrySettings settings,
                     std::function<uint32_t()> checks_total);

  /// Starts heartbeats and, with a broker, the ack watch.
  void start();
  /// Cancels the timers and queues what is still batched.
  void stop();
  /// Batch and heartbeat settings from a reloaded configuration.
  void reconfigure(std::chrono::milliseconds batch_interval, size_t batch_max_results,
                   std::chrono::milliseconds heartbeat_interval);

  void addResult(const wire::ResultRecord& record);
  /// Queues the batched results now (an issue event must not overtake the result that caused it).
  void flushBatch();
  /// Appends a message for the next sequence number to the outbox and pumps. Throws when the outbox refuses it.
  void enqueue(const Build& build);

  /// Runs first at every heartbeat (the agent's upkeep of its own state).
  void onHeartbeat(std::function<void()> upkeep) { upkeep_ = std::move(upkeep); }

  /// From the MQTT client, on the loop.
  void onConnected();
  void onDisconnected() { in_flight_.clear(); }
  void onAck(const std::string& payload);

 private:
  void armBatchTimer();
  void sendHeartbeat();
  void pump();
  void checkAckProgress();

  asio::io_context& io_;
  state::StateStore& store_;
  mqtt::Client* mqtt_;
  TelemetrySettings settings_;
  std::function<uint32_t()> checks_total_;
  std::function<void()> upkeep_;
  std::string topic_;
  Pacer pacer_;
  asio::steady_timer batch_timer_, heartbeat_timer_, ack_timer_, pace_timer_;
  bool batch_timer_armed_ = false, pace_timer_armed_ = false, stopping_ = false;
  std::vector<wire::ResultRecord> pending_;
  std::set<uint64_t> in_flight_;
  uint64_t sent_through_ = 0;  ///< highest seq handed to MQTT on this connection
  uint64_t acked_ = 0;         ///< highest seq the aggregator has committed (end-to-end ack)
  uint64_t acked_at_check_ = 0;
  log::RateLimiter refusal_log_{std::chrono::minutes(1)};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace hale::agent
