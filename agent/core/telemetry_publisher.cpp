#include "agent/core/telemetry_publisher.h"

#include "shared/util/clock.h"
#include "shared/wire/topics.h"

#include <charconv>

namespace hale::agent {
namespace {
// How many messages may await their PUBACK at once; the broker's own window is larger.
constexpr size_t kPublishWindow = 200;
}  // namespace

TelemetryPublisher::TelemetryPublisher(asio::io_context& io, state::StateStore& store, mqtt::Client* mqtt,
                                       TelemetrySettings settings, std::function<uint32_t()> checks_total)
    : io_(io), store_(store), mqtt_(mqtt), settings_(std::move(settings)), checks_total_(std::move(checks_total)),
      topic_(wire::telemetryTopic(settings_.region, settings_.node)),
      pacer_(static_cast<double>(settings_.replay_rate), static_cast<double>(settings_.replay_rate),
             RealClock::instance()),
      batch_timer_(io), heartbeat_timer_(io), ack_timer_(io), pace_timer_(io) {}

void TelemetryPublisher::start() {
  stopping_ = false;
  if (mqtt_) checkAckProgress();
  sendHeartbeat();
}

void TelemetryPublisher::stop() {
  stopping_ = true;
  heartbeat_timer_.cancel();
  ack_timer_.cancel();
  pace_timer_.cancel();
  flushBatch();
  batch_timer_.cancel();
}

void TelemetryPublisher::reconfigure(std::chrono::milliseconds batch_interval, size_t batch_max_results,
                                     std::chrono::milliseconds heartbeat_interval) {
  settings_.batch_interval = batch_interval;
  settings_.batch_max_results = batch_max_results;
  settings_.heartbeat_interval = heartbeat_interval;
}

void TelemetryPublisher::addResult(const wire::ResultRecord& record) {
  pending_.push_back(record);
  if (pending_.size() >= settings_.batch_max_results)
    flushBatch();
  else
    armBatchTimer();
}

void TelemetryPublisher::armBatchTimer() {
  if (batch_timer_armed_) return;
  batch_timer_armed_ = true;
  batch_timer_.expires_after(settings_.batch_interval);
  batch_timer_.async_wait([this](std::error_code ec) {
    batch_timer_armed_ = false;
    if (!ec) flushBatch();
  });
}

void TelemetryPublisher::flushBatch() {
  if (pending_.empty()) return;
  try {
    enqueue([&](const wire::EnvelopeHeader& h) { return wire::buildCheckBatch(h, pending_); });
  } catch (const std::exception& e) {
    log::errorRepeated("agent", "cannot queue telemetry", {{"error", e.what()}});
  }
  pending_.clear();
}

void TelemetryPublisher::sendHeartbeat() {
  if (stopping_) return;
  if (upkeep_) upkeep_();
  wire::HeartbeatRecord hb;
  hb.uptime_s = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count());
  hb.agent_version = HALE_VERSION;
  hb.interval_ms = static_cast<uint32_t>(settings_.heartbeat_interval.count());
  hb.checks_total = checks_total_();
  try {
    hb.outbox_depth = static_cast<uint32_t>(store_.outboxDepth());
    hb.outbox_evicted = store_.outboxEvicted();
    hb.outbox_first_seq = store_.outboxFirstSeq();
    enqueue([&](const wire::EnvelopeHeader& h) { return wire::buildHeartbeat(h, hb); });
  } catch (const std::exception& e) {
    log::errorRepeated("agent", "cannot queue heartbeat", {{"error", e.what()}});
  }
  heartbeat_timer_.expires_after(settings_.heartbeat_interval);
  heartbeat_timer_.async_wait([this](std::error_code ec) {
    if (!ec) sendHeartbeat();
  });
}

void TelemetryPublisher::enqueue(const Build& build) {
  store_.outboxAppend([&](uint64_t seq) {
    return build(wire::EnvelopeHeader{settings_.node, settings_.region, seq, unixMillisNow()});
  });
  pump();
}

void TelemetryPublisher::pump() {
  if (!mqtt_ || !mqtt_->connected()) return;
  if (in_flight_.size() >= kPublishWindow) return;
  auto batch = store_.outboxAfter(sent_through_, kPublishWindow - in_flight_.size());
  const size_t allowed = pacer_.take(batch.size());
  if (allowed < batch.size()) {
    batch.resize(allowed);
    if (!pace_timer_armed_) {
      pace_timer_armed_ = true;
      pace_timer_.expires_after(pacer_.untilNext());
      pace_timer_.async_wait([this](std::error_code ec) {
        pace_timer_armed_ = false;
        if (!ec) pump();
      });
    }
  }
  for (const auto& entry : batch) {
    sent_through_ = entry.seq;
    in_flight_.insert(entry.seq);
    mqtt_->publish(topic_, std::string(entry.payload.begin(), entry.payload.end()), 1, false,
                   [this, seq = entry.seq](const Status& result) {
                     in_flight_.erase(seq);
                     if (result.ok()) {
                       pump();
                     } else if (mqtt_->connected()) {
                       log::warn("agent", "telemetry refused by the broker; kept for replay",
                                 {{"seq", std::to_string(seq)}, {"reason", result.error().message}});
                     }
                   });
  }
}

void TelemetryPublisher::onConnected() {
  in_flight_.clear();
  sent_through_ = acked_;  // replay everything not yet committed, oldest first
  pump();
}

void TelemetryPublisher::onAck(const std::string& payload) {
  uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), seq);
  if (ec != std::errc() || end != payload.data() + payload.size()) {
    if (refusal_log_.allow("ack", std::chrono::steady_clock::now()) >= 0)
      log::warn("agent", "ignoring malformed ack", {{"payload", payload.substr(0, 32)}});
    return;
  }
  if (seq <= acked_) return;
  acked_ = seq;
  try {
    store_.outboxAckThrough(seq);
  } catch (const std::exception& e) {
    log::errorRepeated("agent", "cannot trim outbox", {{"error", e.what()}});
  }
  if (sent_through_ < acked_) sent_through_ = acked_;
  pump();
}

// Replays from the last ack when acks stop coming while messages wait: the
// broker may have dropped them after its PUBACK.
void TelemetryPublisher::checkAckProgress() {
  ack_timer_.expires_after(settings_.ack_timeout);
  ack_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    if (mqtt_->connected() && acked_ == acked_at_check_ && sent_through_ > acked_) {
      log::warn("agent", "no ack from the aggregator; replaying",
                {{"acked", std::to_string(acked_)}, {"sent", std::to_string(sent_through_)}});
      sent_through_ = acked_;
      pump();
    }
    acked_at_check_ = acked_;
    checkAckProgress();
  });
}

}  // namespace hale::agent
