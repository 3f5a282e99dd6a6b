#include "agent/core/agent.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"
#include "shared/wire/topics.h"

#include <nlohmann/json.hpp>

#include <asio/post.hpp>

#include <csignal>

namespace hale::agent {
namespace {
std::string statusPayload(std::string_view state, std::chrono::seconds keepalive) {
  return nlohmann::json{{"state", state}, {"keepalive_s", keepalive.count()}, {"version", HALE_VERSION}}.dump();
}

TelemetrySettings telemetrySettings(const AgentConfig& cfg) {
  return TelemetrySettings{
      cfg.node,        cfg.region,     cfg.batch_interval, cfg.batch_max_results, cfg.heartbeat_interval,
      cfg.ack_timeout, cfg.replay_rate};
}
}  // namespace

Agent::Agent(AgentConfig config)
    : cfg_(std::move(config)),
      store_(cfg_.state_dir, cfg_.outbox_max_messages, state::StateOptions{cfg_.state_reserve_bytes, true}),
      audit_(store_.db()), signals_(io_, SIGINT, SIGTERM, SIGHUP), shutdown_timer_(io_) {
  if (cfg_.mqtt_enabled) {
    mqtt::Options opts = cfg_.mqtt;
    opts.client_id = cfg_.node;
    opts.will =
        mqtt::Will{wire::statusTopic(cfg_.region, cfg_.node), statusPayload("offline", opts.keepalive), 1, true};
    opts.subscriptions = {{wire::nodeCommandTopic(cfg_.region, cfg_.node), 1},
                          {wire::regionCommandTopic(cfg_.region), 1},
                          {wire::ackTopic(cfg_.region, cfg_.node), 1},
                          {std::string(wire::kFailoverTopic), 1}};
    mqtt_ = std::make_unique<mqtt::Client>(io_, std::move(opts));
    mqtt_->onConnected([this] { onConnected(); });
    mqtt_->onMessage([this](const std::string& topic, const std::string& payload) { onMessage(topic, payload); });
    mqtt_->onDisconnected([this] { telemetry_->onDisconnected(); });
  }
  watchDamagedState(cfg_);  // after the store: opening it may have set a damaged file aside
  telemetry_ = std::make_unique<TelemetryPublisher>(io_, store_, mqtt_.get(), telemetrySettings(cfg_),
                                                    [this] { return static_cast<uint32_t>(cfg_.checks.size()); });
  telemetry_->onHeartbeat([this] { keepStateWritable(); });
  engine_ = std::make_unique<remedies::Engine>(io_, store_, audit_, RealClock::instance(), *this,
                                               [this](const wire::RemediationRecord& r) { emitRemediation(r); });
  engine_->configure(cfg_.remediation, std::move(cfg_.plans));
  pipeline_ = std::make_unique<ResultPipeline>(store_, *engine_, *this);
  scheduler_ = std::make_unique<Scheduler>(io_, cfg_.checks, [this](const wire::ResultRecord& r) { onResult(r); });
  CommandTargets targets{
      [this](const std::string& check) { return settingsOf(check); },
      [this](const std::string& check, const std::string& nonce) { return startDrill(check, nonce); }};
  commands_ = std::make_unique<CommandHandler>(io_, store_, audit_, *engine_, *pipeline_, std::move(targets), cfg_.node,
                                               cfg_.region);
  commands_->configure(std::move(cfg_.command_keys), std::move(cfg_.failover));
  if (!cfg_.builds.dirs.empty()) startBuildWatch();
}

Agent::~Agent() {
  if (build_pool_) build_pool_->join();  // classifications in flight use the knowledge base
  engine_.reset();                       // joins actions in flight before the checks and the store go
}

// Read at start only: a reload does not change the watched directories.
void Agent::startBuildWatch() {
  const auto& w = cfg_.builds;
  build_kb_ = std::make_unique<ci::KnowledgeBase>(
      ci::loadKnowledgeBase(w.patterns.empty() ? ci::defaultPatternDirs() : w.patterns));
  build_files_ = std::make_unique<ci::BuildFileClassifier>(*build_kb_, w.run_gap);
  build_pool_ = std::make_unique<asio::thread_pool>(1);
  if (w.poll_interval.count() == 0) {
    if (auto inotify = platform::makeInotifyWatcher(io_)) {
      build_watcher_ = std::move(*inotify);
    } else {
      log::warn("builds", "inotify unavailable; scanning every 2s", {{"error", inotify.error().message}});
    }
  }
  if (!build_watcher_)
    build_watcher_ =
        platform::makePollingWatcher(io_, w.poll_interval.count() ? w.poll_interval : std::chrono::seconds(2));
  for (const auto& dir : w.dirs)
    if (const auto st = build_watcher_->add(dir); !st)
      log::error("builds", "cannot watch directory", {{"dir", dir}, {"error", st.error().message}});
  build_watcher_->start([this](const std::string& path) {
    // A big log takes a while to classify: never on the loop.
    asio::post(*build_pool_, [this, path] {
      auto file = build_files_->classify(path);
      if (!file) {
        log::warn("builds", "cannot classify file", {{"file", path}, {"error", file.error().message}});
        return;
      }
      asio::post(io_, [this, f = std::move(*file)] { recordWatchedFile(f); });
    });
  });
}

void Agent::recordWatchedFile(const ci::WatchedFile& file) {
  try {
    const wire::BuildRecord r = ci::toBuildRecord(ci::attemptFor(file), store_.increment("build_id"), unixMillisNow());
    store_.recordBuild(r);
    telemetry_->enqueue([&](const wire::EnvelopeHeader& h) { return wire::buildBuildEvent(h, r); });
    log::info("builds", "diagnosed file", {{"file", file.path}, {"category", r.category}});
  } catch (const std::exception& e) {
    log::error("builds", "cannot record diagnosis", {{"file", file.path}, {"error", e.what()}});
  }
}

// Through the scheduler, like every run: a verification asked for while the
// check runs waits for that run instead of starting a second one.
void Agent::runCheckNow(const std::string& name, std::function<void(const wire::ResultRecord&)> done) {
  asio::post(io_, [this, name, done = std::move(done)]() mutable { (void)scheduler_->runNow(name, std::move(done)); });
}

void Agent::emitRemediation(const wire::RemediationRecord& record) {
  try {
    telemetry_->enqueue([&](const wire::EnvelopeHeader& h) { return wire::buildRemediationEvent(h, record); });
  } catch (const std::exception& e) {
    log::errorRepeated("agent", "cannot queue remediation event", {{"check", record.check}, {"error", e.what()}});
  }
}

int Agent::run() {
  log::info("agent", "starting",
            {{"node", cfg_.node},
             {"region", cfg_.region},
             {"checks", std::to_string(cfg_.checks.size())},
             {"state_dir", cfg_.state_dir},
             {"outbox", std::to_string(store_.outboxDepth())}});
  signals_.async_wait([this](std::error_code ec, int sig) {
    if (!ec) onSignal(sig);
  });
  scheduler_->start();
  engine_->start();
  // Issues still open from before a restart raise no new event: their plans carry on here.
  for (const auto& [check, issue] : pipeline_->tracker().open())
    if (const auto* settings = settingsOf(check)) engine_->resumeOpen(issue, settings->kind);
  if (mqtt_) mqtt_->start();
  telemetry_->start();
  io_.run();
  log::info("agent", "stopped");
  return 0;
}

void Agent::onSignal(int sig) {
  if (sig == SIGHUP) {
    reload();
    signals_.async_wait([this](std::error_code ec, int s) {
      if (!ec) onSignal(s);
    });
    return;
  }
  log::info("agent", "shutting down", {{"signal", std::to_string(sig)}});
  shutdown();
}

void Agent::reload() {
  try {
    applyReload(loadAgentConfig(cfg_.file));
  } catch (const std::exception& e) {
    log::error("agent", "reload failed; keeping the running configuration", {{"error", e.what()}});
  }
}

void Agent::applyReload(AgentConfig next) {
  if (next.node != cfg_.node || next.region != cfg_.region || next.state_dir != cfg_.state_dir ||
      next.mqtt_enabled != cfg_.mqtt_enabled || next.mqtt.url != cfg_.mqtt.url) {
    log::warn("agent", "reload: node, region, state_dir or broker changed; restart the agent to apply them");
  }
  // Runs in progress keep their (old) checks alive; their results are dropped. Verifications
  // still waiting are answered by the new check of the same name.
  watchDamagedState(next);
  auto requests = scheduler_->takeRequests();
  scheduler_.reset();
  cfg_.checks = std::move(next.checks);
  telemetry_->reconfigure(next.batch_interval, next.batch_max_results, next.heartbeat_interval);
  scheduler_ = std::make_unique<Scheduler>(io_, cfg_.checks, [this](const wire::ResultRecord& r) { onResult(r); });
  scheduler_->start();
  for (auto& [check, done] : requests) (void)scheduler_->runNow(check, std::move(done));
  // Limiter state lives in SQLite, so a reload changes the rules, never the spent budgets.
  engine_->configure(next.remediation, std::move(next.plans));
  commands_->configure(std::move(next.command_keys), std::move(next.failover));
  // A rotated node certificate (new files, or new content at the same paths)
  // takes effect by reconnecting; TLS files are read at every connect.
  if (mqtt_ && next.mqtt_enabled && next.mqtt.url == cfg_.mqtt.url) mqtt_->reconnect();
  log::info("agent", "reloaded", {{"checks", std::to_string(cfg_.checks.size())}});
}

void Agent::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  scheduler_->stop();
  engine_->stop();
  if (build_watcher_) build_watcher_->stop();
  telemetry_->stop();
  auto finish = [this] {
    if (mqtt_) mqtt_->stop();
    io_.stop();
  };
  if (mqtt_ && mqtt_->connected()) {
    // Say goodbye explicitly: a clean disconnect suppresses the last will.
    mqtt_->publish(wire::statusTopic(cfg_.region, cfg_.node), statusPayload("offline", cfg_.mqtt.keepalive), 1, true,
                   [finish](const Status&) { finish(); });
    shutdown_timer_.expires_after(std::chrono::seconds(2));
    shutdown_timer_.async_wait([finish](std::error_code ec) {
      if (!ec) finish();
    });
  } else {
    finish();
  }
}

void Agent::onResult(const wire::ResultRecord& record) {
  const auto* settings = settingsOf(record.check);
  if (!settings) return;  // every scheduler is built from cfg_.checks: not expected
  if (auto fed = pipeline_->feed(*settings, record); !fed)
    log::errorRepeated("agent", "cannot track issue", {{"check", record.check}, {"error", fed.error().message}});
}

// After a full disk: write what waited in memory, then take the space reserve back.
void Agent::keepStateWritable() {
  if (!store_.spaceLow() && audit_.pendingCount() == 0) return;
  try {
    if (audit_.flushPending()) store_.maintainSpace();
  } catch (const std::exception& e) {
    log::errorRepeated("agent", "cannot write held audit entries", {{"error", e.what()}});
  }
}

void Agent::onRecord(const wire::ResultRecord& record) { telemetry_->addResult(record); }

void Agent::onIssueEvent(const wire::IssueRecord& event) {
  telemetry_->flushBatch();  // the result that caused the event goes first
  telemetry_->enqueue([&](const wire::EnvelopeHeader& h) { return wire::buildIssueEvent(h, event); });
}

const checks::CommonSettings* Agent::settingsOf(const std::string& check) const {
  for (const auto& c : cfg_.checks)
    if (c->name() == check) return &c->common();
  return nullptr;
}

void Agent::onConnected() {
  mqtt_->publish(wire::statusTopic(cfg_.region, cfg_.node), statusPayload("online", cfg_.mqtt.keepalive), 1, true);
  telemetry_->onConnected();
}

void Agent::onMessage(const std::string& topic, const std::string& payload) {
  if (topic == wire::ackTopic(cfg_.region, cfg_.node)) return telemetry_->onAck(payload);
  if (topic == wire::nodeCommandTopic(cfg_.region, cfg_.node) || topic == wire::regionCommandTopic(cfg_.region))
    return commands_->handleCommand(payload);
  if (topic == wire::kFailoverTopic) return commands_->handleFailover(payload);
}

}  // namespace hale::agent
