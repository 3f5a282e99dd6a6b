#include "agent/core/agent.h"

#include "agent/platform/program_run.h"
#include "shared/util/clock.h"
#include "shared/util/log.h"
#include "shared/wire/topics.h"

#include <nlohmann/json.hpp>

#include <asio/post.hpp>

#include <charconv>
#include <csignal>

namespace hale::agent {
namespace {
// How many messages may await their PUBACK at once; the broker's own window is larger.
constexpr size_t kPublishWindow = 200;

std::string statusPayload(std::string_view state, std::chrono::seconds keepalive) {
  return nlohmann::json{{"state", state}, {"keepalive_s", keepalive.count()}, {"version", HALE_VERSION}}.dump();
}
}  // namespace

Agent::Agent(AgentConfig config)
    : cfg_(std::move(config)),
      store_(cfg_.state_dir, cfg_.outbox_max_messages, state::StateOptions{cfg_.state_reserve_bytes, true}),
      tracker_(store_), audit_(store_.db()), guard_(store_), failover_state_(store_, cfg_.region),
      signals_(io_, SIGINT, SIGTERM, SIGHUP), batch_timer_(io_), heartbeat_timer_(io_), shutdown_timer_(io_),
      ack_timer_(io_), pace_timer_(io_),
      pacer_(static_cast<double>(cfg_.replay_rate), static_cast<double>(cfg_.replay_rate), RealClock::instance()) {
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
    mqtt_->onDisconnected([this] { in_flight_.clear(); });
  }
  scheduler_ = std::make_unique<Scheduler>(io_, cfg_.checks, [this](const wire::ResultRecord& r) { onResult(r); });
  engine_ = std::make_unique<remedies::Engine>(io_, store_, audit_, RealClock::instance(), *this,
                                               [this](const wire::RemediationRecord& r) { emitRemediation(r); });
  engine_->configure(cfg_.remediation, std::move(cfg_.plans));
  if (!cfg_.builds.dirs.empty()) startBuildWatch();
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
    enqueue([&](uint64_t seq) { return wire::buildBuildEvent(header(seq), r); });
    log::info("builds", "diagnosed file", {{"file", file.path}, {"category", r.category}});
  } catch (const std::exception& e) {
    log::error("builds", "cannot record diagnosis", {{"file", file.path}, {"error", e.what()}});
  }
}

Agent::~Agent() {
  if (build_pool_) build_pool_->join();  // classifications in flight use the knowledge base
  engine_.reset();                       // joins actions in flight before the checks and the store go
  verify_pool_->join();
  hook_pool_->join();
}

void Agent::runCheckNow(const std::string& name, std::function<void(const wire::ResultRecord&)> done) {
  checks::Check* check = nullptr;
  for (auto& c : cfg_.checks)
    if (c->name() == name) check = c.get();
  if (!check) return;
  if (!check->blocking()) {
    // Cheap kinds run on the loop, as the scheduler runs them: never two runs of one check at once.
    asio::post(io_, [this, check, done = std::move(done)] {
      auto record = runWithDeadline(*check);
      check->afterRun(record);  // as after a scheduled run: e.g. watch the restarted process's exit
      onResult(record);
      done(record);
    });
    return;
  }
  asio::post(*verify_pool_, [this, check, done = std::move(done)] {
    auto record = runWithDeadline(*check);
    asio::post(io_, [this, check, record = std::move(record), done] {
      check->afterRun(record);
      onResult(record);
      done(record);
    });
  });
}

void Agent::emitRemediation(const wire::RemediationRecord& record) {
  try {
    enqueue([&](uint64_t seq) { return wire::buildRemediationEvent(header(seq), record); });
  } catch (const std::exception& e) {
    log::error("agent", "cannot queue remediation event", {{"check", record.check}, {"error", e.what()}});
  }
}

wire::EnvelopeHeader Agent::header(uint64_t seq) const {
  return wire::EnvelopeHeader{cfg_.node, cfg_.region, seq, unixMillisNow()};
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
  for (const auto& [check, issue] : tracker_.open())
    if (const auto* settings = settingsOf(check)) engine_->resumeOpen(issue, settings->kind);
  if (mqtt_) {
    mqtt_->start();
    checkAckProgress();
  }
  sendHeartbeat();
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
    AgentConfig next = loadAgentConfig(cfg_.file);
    if (next.node != cfg_.node || next.region != cfg_.region || next.state_dir != cfg_.state_dir ||
        next.mqtt_enabled != cfg_.mqtt_enabled || next.mqtt.url != cfg_.mqtt.url) {
      log::warn("agent", "reload: node, region, state_dir or broker changed; restart the agent to apply them");
    }
    scheduler_.reset();
    cfg_.checks = std::move(next.checks);
    cfg_.heartbeat_interval = next.heartbeat_interval;
    cfg_.batch_interval = next.batch_interval;
    cfg_.batch_max_results = next.batch_max_results;
    scheduler_ = std::make_unique<Scheduler>(io_, cfg_.checks, [this](const wire::ResultRecord& r) { onResult(r); });
    scheduler_->start();
    // Limiter state lives in SQLite, so a reload changes the rules, never the spent budgets.
    engine_->configure(next.remediation, std::move(next.plans));
    cfg_.command_keys = std::move(next.command_keys);
    cfg_.failover = std::move(next.failover);
    // A rotated node certificate (new files, or new content at the same paths)
    // takes effect by reconnecting; TLS files are read at every connect.
    if (mqtt_ && next.mqtt_enabled && next.mqtt.url == cfg_.mqtt.url) mqtt_->reconnect();
    log::info("agent", "reloaded", {{"checks", std::to_string(cfg_.checks.size())}});
  } catch (const std::exception& e) {
    log::error("agent", "reload failed; keeping the running configuration", {{"error", e.what()}});
  }
}

void Agent::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  scheduler_->stop();
  engine_->stop();
  if (build_watcher_) build_watcher_->stop();
  heartbeat_timer_.cancel();
  ack_timer_.cancel();
  pace_timer_.cancel();
  flushBatch();
  batch_timer_.cancel();
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

void Agent::onResult(const wire::ResultRecord& observed) {
  wire::ResultRecord record = observed;
  if (const auto* settings = settingsOf(record.check)) anomalies_.apply(*settings, record);
  log::debug("check", record.message,
             {{"check", record.check}, {"status", std::string(wire::statusName(record.status))}});
  pending_.push_back(record);
  if (pending_.size() >= cfg_.batch_max_results)
    flushBatch();
  else
    armBatchTimer();

  const auto* settings = settingsOf(record.check);
  if (!settings) return;
  try {
    if (auto event = tracker_.observe(*settings, record)) {
      log::info("issue", std::string("issue ") + std::string(wire::issueStateName(event->state)),
                {{"check", event->check},
                 {"issue", std::to_string(event->issue_id)},
                 {"status", std::string(wire::statusName(event->status))},
                 {"message", event->message}});
      flushBatch();  // the result that caused the event goes first
      enqueue([&](uint64_t seq) { return wire::buildIssueEvent(header(seq), *event); });
      engine_->onIssue(*event, record.kind);
    } else if (record.status != wire::CheckStatus::Ok) {
      if (auto open = tracker_.open().find(record.check); open != tracker_.open().end())
        engine_->onRelapse(open->second, record.kind);
    }
  } catch (const std::exception& e) {
    log::error("agent", "cannot track issue", {{"check", record.check}, {"error", e.what()}});
  }
}

const checks::CommonSettings* Agent::settingsOf(const std::string& check) const {
  for (const auto& c : cfg_.checks)
    if (c->name() == check) return &c->common();
  return nullptr;
}

void Agent::armBatchTimer() {
  if (batch_timer_armed_) return;
  batch_timer_armed_ = true;
  batch_timer_.expires_after(cfg_.batch_interval);
  batch_timer_.async_wait([this](std::error_code ec) {
    batch_timer_armed_ = false;
    if (!ec) flushBatch();
  });
}

void Agent::flushBatch() {
  if (pending_.empty()) return;
  try {
    enqueue([&](uint64_t seq) { return wire::buildCheckBatch(header(seq), pending_); });
  } catch (const std::exception& e) {
    log::error("agent", "cannot queue telemetry", {{"error", e.what()}});
  }
  pending_.clear();
}

void Agent::sendHeartbeat() {
  if (stopping_) return;
  // After a full disk: write what waited in memory, then take the space reserve back.
  if (store_.spaceLow() || audit_.pendingCount() > 0) {
    try {
      if (audit_.flushPending()) store_.maintainSpace();
    } catch (const std::exception& e) {
      log::error("agent", "cannot write held audit entries", {{"error", e.what()}});
    }
  }
  wire::HeartbeatRecord hb;
  hb.uptime_s = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count());
  hb.agent_version = HALE_VERSION;
  hb.interval_ms = static_cast<uint32_t>(cfg_.heartbeat_interval.count());
  hb.checks_total = static_cast<uint32_t>(cfg_.checks.size());
  try {
    hb.outbox_depth = static_cast<uint32_t>(store_.outboxDepth());
    hb.outbox_evicted = store_.outboxEvicted();
    hb.outbox_first_seq = store_.outboxFirstSeq();
    enqueue([&](uint64_t seq) { return wire::buildHeartbeat(header(seq), hb); });
  } catch (const std::exception& e) {
    log::error("agent", "cannot queue heartbeat", {{"error", e.what()}});
  }
  heartbeat_timer_.expires_after(cfg_.heartbeat_interval);
  heartbeat_timer_.async_wait([this](std::error_code ec) {
    if (!ec) sendHeartbeat();
  });
}

void Agent::enqueue(const std::function<std::vector<uint8_t>(uint64_t seq)>& build) {
  store_.outboxAppend(build);
  pump();
}

// Sends outbox messages in sequence order, at most kPublishWindow awaiting the
// broker's PUBACK. A PUBACK is not proof of storage (a broker may drop queued
// messages, or crash), so a message leaves the outbox only when the
// aggregator's ack says it is committed; unacked ones are replayed.
void Agent::pump() {
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
  const std::string topic = wire::telemetryTopic(cfg_.region, cfg_.node);
  for (const auto& entry : batch) {
    sent_through_ = entry.seq;
    in_flight_.insert(entry.seq);
    mqtt_->publish(topic, std::string(entry.payload.begin(), entry.payload.end()), 1, false,
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

void Agent::onConnected() {
  in_flight_.clear();
  sent_through_ = acked_;  // replay everything not yet committed, oldest first
  mqtt_->publish(wire::statusTopic(cfg_.region, cfg_.node), statusPayload("online", cfg_.mqtt.keepalive), 1, true);
  pump();
}

}  // namespace hale::agent

namespace hale::agent {

void Agent::onMessage(const std::string& topic, const std::string& payload) {
  if (topic == wire::ackTopic(cfg_.region, cfg_.node)) return handleAck(payload);
  if (topic == wire::nodeCommandTopic(cfg_.region, cfg_.node) || topic == wire::regionCommandTopic(cfg_.region))
    return handleCommand(payload);
  if (topic == wire::kFailoverTopic) return handleFailover(payload);
}

void Agent::handleAck(const std::string& payload) {
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
    log::error("agent", "cannot trim outbox", {{"error", e.what()}});
  }
  if (sent_through_ < acked_) sent_through_ = acked_;
  pump();
}

// Replays from the last ack when acks stop coming while messages wait: the
// broker may have dropped them after its PUBACK.
void Agent::checkAckProgress() {
  ack_timer_.expires_after(cfg_.ack_timeout);
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

void Agent::handleCommand(const std::string& payload) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  const int64_t now = unixMillisNow();
  auto refuse = [&](const std::string& subject, const std::string& why) {
    audit_.append(now, "command", "command", subject, "refused", why);
    if (refusal_log_.allow("command", std::chrono::steady_clock::now()) >= 0)
      log::warn("command", "command refused", {{"reason", why}});
  };
  try {
    if (cfg_.command_keys.empty()) return refuse("-", "no [commands] public_key_files configured");
    auto spec = wire::verifyCommand(bytes, cfg_.command_keys, cfg_.node, cfg_.region, now);
    if (!spec) return refuse("-", spec.error().message);
    const std::string nonce = crypto::toHex(spec->nonce);
    if (auto admitted = guard_.admit(*spec, now); !admitted) return refuse(nonce, admitted.error().message);
    const std::string action(wire::actionName(spec->action));
    if (const auto* a = std::get_if<wire::AutoRemediationAction>(&spec->action)) {
      limits::Policy::setAuto(store_, a->check, a->enabled);
      const std::string scope = a->check.empty() ? "auto-remediation" : "auto-remediation of " + a->check;
      audit_.append(now, "command", action, nonce, "executed", scope + (a->enabled ? " on" : " off"));
      log::info("command", "auto-remediation switched",
                {{"enabled", a->enabled ? "true" : "false"}, {"check", a->check.empty() ? "*" : a->check}});
      return;
    }
    if (const auto* a = std::get_if<wire::ApproveAction>(&spec->action)) {
      if (auto ok = engine_->approve(a->attempt_id, "command:" + nonce); !ok) return refuse(nonce, ok.error().message);
      audit_.append(now, "command", action, nonce, "executed", "approved attempt " + std::to_string(a->attempt_id));
      return;
    }
    if (const auto* a = std::get_if<wire::TriggerAction>(&spec->action)) {
      const auto* settings = settingsOf(a->check);
      if (!settings) return refuse(nonce, "trigger: no check '" + a->check.substr(0, 64) + "' on this agent");
      const auto open = tracker_.open().find(a->check);
      if (open == tracker_.open().end()) return refuse(nonce, "trigger: check '" + a->check + "' has no open issue");
      if (auto ok = engine_->trigger(open->second, settings->kind, "command:" + nonce); !ok)
        return refuse(nonce, "trigger: " + ok.error().message);
      audit_.append(now, "command", action, nonce, "executed", "remediation of " + a->check + " triggered");
      log::info("command", "remediation triggered", {{"check", a->check}});
      return;
    }
    if (const auto* a = std::get_if<wire::DrillAction>(&spec->action)) {
      auto started = startDrill(a->check, nonce);
      if (!started) return refuse(nonce, started.error().message);
      audit_.append(now, "command", action, nonce, "executed", *started);
      return;
    }
    // The remediation engine, drills and failover hooks act on the others; an
    // agent without them says so in the audit trail rather than pretending.
    refuse(nonce, "action '" + action + "' is not handled by this agent version");
  } catch (const std::exception& e) {
    log::error("command", "cannot process command", {{"error", e.what()}});
  }
}

}  // namespace hale::agent

namespace hale::agent {

// The failover decision is retained, so it comes again on every reconnect: a
// decision already applied is dropped quietly, without an audit entry.
void Agent::handleFailover(const std::string& payload) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  const int64_t now = unixMillisNow();
  auto refuse = [&](const std::string& subject, const std::string& why) {
    audit_.append(now, "command", "failover", subject, "refused", why);
    if (refusal_log_.allow("failover", std::chrono::steady_clock::now()) >= 0)
      log::warn("failover", "failover decision refused", {{"reason", why}});
  };
  try {
    if (payload.empty()) return;  // a cleared retained message
    if (cfg_.command_keys.empty()) return refuse("-", "no [commands] public_key_files configured");
    auto spec = wire::verifyCommand(bytes, cfg_.command_keys, cfg_.node, "global", now);
    if (!spec) return refuse("-", spec.error().message);
    const std::string nonce = crypto::toHex(spec->nonce);
    auto verdict = failover_state_.admit(*spec);
    if (!verdict) return refuse(nonce, verdict.error().message);
    if (verdict->already_applied) {
      log::debug("failover", "failover decision already applied", {{"epoch", std::to_string(spec->epoch)}});
      return;
    }
    const auto& role = std::get<wire::RegionRoleAction>(spec->action);
    if (!verdict->transition) {
      audit_.append(
          now, "command", "failover", nonce, "executed",
          fmt::format("epoch {}: {} active; region {} keeps its role", spec->epoch, role.region, cfg_.region));
      return;
    }
    const auto t = *verdict->transition;
    audit_.append(now, "command", "failover", nonce, "executed",
                  fmt::format("epoch {}: region {} {}", t.epoch, cfg_.region, t.promote ? "promoted" : "demoted"));
    log::warn("failover", t.promote ? "region promoted" : "region demoted",
              {{"region", cfg_.region}, {"active", t.active_region}, {"epoch", std::to_string(t.epoch)}});
    runFailoverHook(t);
  } catch (const std::exception& e) {
    log::error("failover", "cannot process failover decision", {{"error", e.what()}});
  }
}

void Agent::runFailoverHook(const FailoverTransition& t) {
  const std::string name = t.promote ? "on_promote" : "on_demote";
  const auto& argv = t.promote ? cfg_.failover.on_promote : cfg_.failover.on_demote;
  if (argv.empty()) return;
  platform::ProgramSpec spec;
  spec.argv = argv;
  spec.env = failoverHookEnv(cfg_.region, t);
  spec.timeout = cfg_.failover.hook_timeout;
  asio::post(*hook_pool_, [this, spec = std::move(spec), name, epoch = t.epoch] {
    const auto started = std::chrono::steady_clock::now();
    auto run = platform::runProgram(spec);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    asio::post(io_, [this, run = std::move(run), name, epoch, ms] {
      std::string outcome = "failed", detail;
      if (!run) {
        detail = run.error().message;
      } else if (run->timed_out) {
        detail = "timed out";
      } else if (run->term_signal) {
        detail = fmt::format("killed by signal {}", run->term_signal);
      } else {
        outcome = run->exit_code == 0 ? "executed" : "failed";
        detail = fmt::format("exit {}", run->exit_code);
      }
      detail = fmt::format("{} epoch {}: {} in {} ms", name, epoch, detail, ms.count());
      if (run && !run->output.empty())
        detail += "; output: " + run->output.substr(run->output.size() > 512 ? run->output.size() - 512 : 0);
      audit_.append(unixMillisNow(), "failover", name, std::to_string(epoch), outcome, detail);
      if (outcome == "executed")
        log::info("failover", "hook ran", {{"hook", name}, {"epoch", std::to_string(epoch)}});
      else
        log::error("failover", "hook failed", {{"hook", name}, {"detail", detail}});
    });
  });
}

}  // namespace hale::agent
