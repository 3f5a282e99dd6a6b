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

std::unique_ptr<health::ScoreCache> makeScoreCache(const AggregatorConfig& cfg, const Clock& clock) {
  // The worker's own connection, opened on first use on the worker thread.
  auto reader = std::make_shared<std::unique_ptr<storage::Store>>();
  return std::make_unique<health::ScoreCache>(
      [reader, path = cfg.database, params = cfg.health](int64_t now_ms) {
        if (!*reader) *reader = std::make_unique<storage::Store>(path);
        const auto inputs = (*reader)->healthInputs().read(now_ms - params.result_stale_after_ms);
        return health::computeHealth(inputs, now_ms, params);
      },
      kScoreRefresh, clock);
}

std::optional<crypto::Key> loadSigningKey(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto key = crypto::Key::fromFile(path, true);
  if (!key) throw std::runtime_error(key.error().message);
  return std::move(*key);
}
}  // namespace

Aggregator::Aggregator(AggregatorConfig config)
    : cfg_(std::move(config)),
      store_(storage::openDatabase(prepareDatabasePath(cfg_.database), storage::Verify::QuickCheck)),
      ingestor_(io_, store_, cfg_.ingest, clock_), score_cache_(makeScoreCache(cfg_, clock_)),
      notifier_(cfg_.database,
                notify::Settings{cfg_.notify, fmt::format("http://{}:{}", cfg_.http_address, cfg_.http_port)}, clock_),
      signing_key_(loadSigningKey(cfg_.signing_key_file)), failover_(makeFailover()),
      api_(
          store_, ingestor_.counters(), [this] { return !mqtt_ || mqtt_->ready(); }, apiOptions()),
      signals_(io_, SIGINT, SIGTERM), snapshot_timer_(io_) {
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

api::ApiOptions Aggregator::apiOptions() {
  api::ApiOptions o;
  o.health = cfg_.health;
  o.read_token = cfg_.read_token;
  o.snapshot_counters = &snapshot_counters_;
  o.write_token = cfg_.write_token;
  o.send_command = [this](const wire::CommandSpec& spec) { return publishCommand(spec); };
  o.command_epoch = cfg_.epoch;
  o.score_cache = score_cache_.get();
  o.webhooks = cfg_.webhooks;
  o.extra_metrics = [this](std::string& out) { notifier_.appendMetrics(out); };
  o.failover = failover_.get();
  o.clock = &clock_;
  return o;
}

std::unique_ptr<failover::Service> Aggregator::makeFailover() {
  if (cfg_.regions.empty()) return nullptr;
  auto svc = std::make_unique<failover::Service>(
      io_, store_, cfg_.regions, *signing_key_, [this](int64_t now_ms) { return failoverSample(now_ms); },
      [this](const std::string& payload) {
        if (!mqtt_ || !mqtt_->connected()) return false;
        // Retained: an agent that connects later learns the active region at once.
        mqtt_->publish(std::string(wire::kFailoverTopic), payload, 1, true, [this](const Status& done) {
          if (!done && failover_) failover_->republish();
        });
        return true;
      },
      clock_);
  svc->onDecision([this](const failover::Decision& d) {
    notifier_.regionFailover(d.from, d.to, d.epoch, d.reason);
    if (on_region_failover) on_region_failover(d);
  });
  return svc;
}

std::vector<failover::Observation> Aggregator::failoverSample(int64_t now_ms) {
  ingestor_.flush();  // what has arrived counts
  auto scored = score_cache_->latest(now_ms, std::chrono::seconds(5));
  const health::FleetHealth fleet =
      scored ? scored->health
             : health::computeHealth(store_.healthInputs().read(now_ms - cfg_.health.result_stale_after_ms), now_ms,
                                     cfg_.health);
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
  score_cache_->start();
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
      health::takeSnapshot(store_, cfg_.health, cfg_.snapshots, toUnixMillis(clock_.wallNow()), snapshot_counters_);
    } catch (const std::exception& e) {
      // A busy or full disk skips one snapshot; the next tick tries again.
      ++snapshot_counters_.errors;
      log::error("health", "cannot store snapshot", {{"error", e.what()}});
    }
    scheduleSnapshot();
  });
}

}  // namespace hale::aggregator
