#include "aggregator/core/aggregator.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"
#include "shared/wire/topics.h"

#include <algorithm>
#include <fmt/format.h>

#include <csignal>
#include <filesystem>

namespace hale::aggregator {
namespace {
std::string prepareDatabasePath(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  return path;
}

// Scores refresh once a second: a dashboard or scrape never waits for
// scoring, and what it shows is at most about a second old.
constexpr std::chrono::milliseconds kScoreRefresh{1000};

std::unique_ptr<health::ScoreCache> makeScoreCache(const AggregatorConfig& cfg) {
  // The worker's own connection, opened on first use on the worker thread.
  auto reader = std::make_shared<std::unique_ptr<storage::Store>>();
  return std::make_unique<health::ScoreCache>(
      [reader, path = cfg.database, params = cfg.health](int64_t now_ms) {
        if (!*reader) *reader = std::make_unique<storage::Store>(path);
        const auto inputs = (*reader)->healthInputs(now_ms - params.result_stale_after_ms);
        return health::computeHealth(inputs, now_ms, params);
      },
      kScoreRefresh);
}
}  // namespace

Aggregator::Aggregator(AggregatorConfig config)
    : cfg_(std::move(config)), store_(prepareDatabasePath(cfg_.database)), ingestor_(io_, store_, cfg_.ingest),
      score_cache_(makeScoreCache(cfg_)),
      notifier_(cfg_.database,
                notify::Settings{cfg_.notify, fmt::format("http://{}:{}", cfg_.http_address, cfg_.http_port)}),
      api_(
          store_, ingestor_.counters(), [this] { return !mqtt_ || mqtt_->ready(); },
          api::ApiOptions{cfg_.health,
                          cfg_.read_token,
                          &snapshot_counters_,
                          cfg_.write_token,
                          [this](const wire::CommandSpec& spec) { return publishCommand(spec); },
                          cfg_.epoch,
                          std::chrono::minutes(5),
                          score_cache_.get(),
                          std::chrono::seconds(5),
                          cfg_.webhooks,
                          [this](std::string& out) { notifier_.appendMetrics(out); },
                          {failoverRoutes()}}),
      signals_(io_, SIGINT, SIGTERM), snapshot_timer_(io_) {
  if (!cfg_.signing_key_file.empty()) {
    auto key = crypto::Key::fromFile(cfg_.signing_key_file, true);
    if (!key) throw std::runtime_error(key.error().message);
    signing_key_ = std::move(*key);
  }
  if (!cfg_.regions.empty()) {
    failover_ = std::make_unique<failover::Service>(
        io_, store_, cfg_.regions, *signing_key_, [this](int64_t now_ms) { return failoverSample(now_ms); },
        [this](const std::string& payload) {
          if (!mqtt_ || !mqtt_->connected()) return false;
          // Retained: an agent that connects later learns the active region at once.
          mqtt_->publish(std::string(wire::kFailoverTopic), payload, 1, true, [this](const Status& done) {
            if (!done && failover_) failover_->republish();
          });
          return true;
        });
    failover_->onDecision([this](const failover::Decision& d) {
      notifier_.regionFailover(d.from, d.to, d.epoch, d.reason);
      if (on_region_failover) on_region_failover(d);
    });
  }
  http_ = std::make_unique<api::HttpServer>(io_, cfg_.http_address, cfg_.http_port, api_);
  if (cfg_.mqtt_enabled) {
    mqtt_ = std::make_unique<mqtt::Client>(io_, cfg_.mqtt);
    mqtt_->onMessage(
        [this](const std::string& topic, const std::string& payload) { ingestor_.onMessage(topic, payload); });
    // Retained, so an agent that reconnects learns at once what is committed.
    ingestor_.onAck([this](const std::string& region, const std::string& node, uint64_t seq) {
      mqtt_->publish(wire::ackTopic(region, node), std::to_string(seq), 1, true);
    });
  }
}

Aggregator::~Aggregator() = default;

api::ExtraRoutes Aggregator::failoverRoutes() {
  return api::ExtraRoutes{"/api/v1/failover",
                          [this](const api::Query& q, const api::Request& r) {
                            if (!failover_) return api::errorResponse(404, "failover is not configured ([[region]])");
                            return failover_->routes().handle(q, r);
                          },
                          [this](std::string& out) {
                            if (failover_) failover_->routes().metrics(out);
                          }};
}

std::vector<failover::Observation> Aggregator::failoverSample(int64_t now_ms) {
  ingestor_.flush();  // what has arrived counts
  auto scored = score_cache_->latest(now_ms, std::chrono::seconds(5));
  const health::FleetHealth fleet =
      scored
          ? scored->health
          : health::computeHealth(store_.healthInputs(now_ms - cfg_.health.result_stale_after_ms), now_ms, cfg_.health);
  const auto remediating = failover::Service::remediatingRegions(store_, now_ms);
  std::vector<failover::Observation> out;
  for (const auto& r : fleet.regions)
    out.push_back({r.name, r.score, std::find(remediating.begin(), remediating.end(), r.name) != remediating.end()});
  return out;
}

Status Aggregator::publishCommand(const wire::CommandSpec& spec) {
  if (!signing_key_) return Error{"no [commands] signing_key_file configured"};
  if (!mqtt_) return Error{"no [mqtt] broker configured"};
  if (!mqtt_->connected()) return Error{"not connected to the broker"};
  const auto bytes = wire::buildSignedCommand(spec, *signing_key_);
  const std::string topic = spec.target_node.empty() ? wire::regionCommandTopic(spec.target_region)
                                                     : wire::nodeCommandTopic(spec.target_region, spec.target_node);
  mqtt_->publish(topic, std::string(bytes.begin(), bytes.end()), 1, false, [topic](const Status& done) {
    if (!done) log::error("commands", "broker refused a command", {{"topic", topic}, {"reason", done.error().message}});
  });
  log::info("commands", "command sent", {{"topic", topic}, {"action", std::string(wire::actionName(spec.action))}});
  return {};
}

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
    if (failover_) failover_->stop();
    io_.stop();
  });
  if (mqtt_) mqtt_->start();
  if (failover_) failover_->start();
  notifier_.start();
  scheduleSnapshot();
  io_.run();
  ingestor_.flush();
  notifier_.stop();
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
