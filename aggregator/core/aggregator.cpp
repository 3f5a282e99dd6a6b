#include "aggregator/core/aggregator.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"
#include "shared/wire/topics.h"

#include <csignal>
#include <filesystem>

namespace hale::aggregator {
namespace {
std::string prepareDatabasePath(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  return path;
}
}  // namespace

Aggregator::Aggregator(AggregatorConfig config)
    : cfg_(std::move(config)),
      store_(prepareDatabasePath(cfg_.database)),
      ingestor_(io_, store_, cfg_.ingest),
      api_(store_, ingestor_.counters(), [this] { return !mqtt_ || mqtt_->ready(); },
           api::ApiOptions{cfg_.health, cfg_.read_token, &snapshot_counters_}),
      signals_(io_, SIGINT, SIGTERM),
      snapshot_timer_(io_) {
  http_ = std::make_unique<api::HttpServer>(io_, cfg_.http_address, cfg_.http_port, api_);
  if (cfg_.mqtt_enabled) {
    mqtt_ = std::make_unique<mqtt::Client>(io_, cfg_.mqtt);
    mqtt_->onMessage([this](const std::string& topic, const std::string& payload) { ingestor_.onMessage(topic, payload); });
    // Retained, so an agent that reconnects learns at once what is committed.
    ingestor_.onAck([this](const std::string& region, const std::string& node, uint64_t seq) {
      mqtt_->publish(wire::ackTopic(region, node), std::to_string(seq), 1, true);
    });
  }
}

Aggregator::~Aggregator() = default;

int Aggregator::run() {
  log::info("aggregator", "starting",
            {{"database", cfg_.database},
             {"http", cfg_.http_address + ":" + std::to_string(cfg_.http_port)},
             {"broker", cfg_.mqtt_enabled ? cfg_.mqtt.url : "none"}});
  signals_.async_wait([this](std::error_code ec, int sig) {
    if (ec) return;
    log::info("aggregator", "shutting down", {{"signal", std::to_string(sig)}});
    if (mqtt_) mqtt_->stop();
    ingestor_.flush();
    http_->close();
    snapshot_timer_.cancel();
    io_.stop();
  });
  if (mqtt_) mqtt_->start();
  scheduleSnapshot();
  io_.run();
  ingestor_.flush();
  log::info("aggregator", "stopped");
  return 0;
}

void Aggregator::scheduleSnapshot() {
  snapshot_timer_.expires_after(cfg_.snapshots.interval);
  snapshot_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    // Pending telemetry first, so the snapshot sees what has arrived.
    ingestor_.flush();
    try {
      health::takeSnapshot(store_, cfg_.health, cfg_.snapshots, unixMillisNow(), snapshot_counters_);
    } catch (const std::exception& e) {
      // A busy or full disk skips one snapshot; the next tick tries again.
      ++snapshot_counters_.errors;
      log::error("health", "cannot store snapshot", {{"error", e.what()}});
    }
    scheduleSnapshot();
  });
}

}  // namespace hale::aggregator
