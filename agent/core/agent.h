#pragma once
// The running agent: one io_context drives the check timers, the telemetry
// batcher, heartbeats, the MQTT connection and signals.
#include "agent/checks/anomaly.h"
#include "agent/ci/build_watch.h"
#include "agent/core/agent_config.h"
#include "agent/core/scheduler.h"
#include "agent/issues/issue_tracker.h"
#include "agent/platform/dir_watcher.h"
#include "agent/remedies/engine.h"
#include "agent/state/audit_log.h"
#include "agent/state/command_guard.h"
#include "agent/state/state_store.h"
#include "shared/mqtt/client.h"
#include "shared/util/log.h"
#include "shared/util/pacer.h"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <memory>
#include <set>
#include <vector>

namespace hale::agent {

struct ActiveDrill;

class Agent final : public remedies::CheckRunner {
 public:
  explicit Agent(AgentConfig config);
  ~Agent();

  /// Runs until SIGINT or SIGTERM; SIGHUP reloads the checks. Returns the exit code.
  int run();

  /// Asks the scheduler to run a check now; the result is fed like a scheduled
  /// one and handed to `done` on the io_context (the engine verifies with this).
  /// May be called from any thread.
  void runCheckNow(const std::string& check, std::function<void(const wire::ResultRecord&)> done) override;

 private:
  void onSignal(int signal);
  void reload();
  void applyReload(AgentConfig next);
  void shutdown();
  void onResult(const wire::ResultRecord& record);
  void flushBatch();
  void armBatchTimer();
  void sendHeartbeat();
  void enqueue(const std::function<std::vector<uint8_t>(uint64_t seq)>& build);
  void pump();
  void onConnected();
  void onMessage(const std::string& topic, const std::string& payload);
  void handleCommand(const std::string& payload);
  void handleFailover(const std::string& payload);
  void runFailoverHook(const FailoverTransition& t);
  void emitRemediation(const wire::RemediationRecord& record);
  void startBuildWatch();
  void recordWatchedFile(const ci::WatchedFile& file);
  void handleAck(const std::string& payload);
  void checkAckProgress();
  wire::EnvelopeHeader header(uint64_t seq) const;
  /// A drill asked for by a signed RunDrill command (agent_drill.cpp): injects on the live target
  /// and lets this agent's own scheduler, issue tracker and engine detect and heal it.
  Result<std::string> startDrill(const std::string& check, const std::string& nonce);
  void pollDrill();
  const checks::CommonSettings* settingsOf(const std::string& check) const;

  asio::io_context io_;
  AgentConfig cfg_;
  state::StateStore store_;
  issues::IssueTracker tracker_;
  checks::AnomalyTracker anomalies_;
  state::AuditLog audit_;
  state::CommandGuard guard_;
  FailoverState failover_state_;
  std::unique_ptr<mqtt::Client> mqtt_;
  std::unique_ptr<Scheduler> scheduler_;
  /// Failover hooks, one at a time and in order, off the I/O thread.
  std::unique_ptr<asio::thread_pool> hook_pool_ = std::make_unique<asio::thread_pool>(1);
  std::unique_ptr<remedies::Engine> engine_;
  asio::signal_set signals_;
  asio::steady_timer batch_timer_;
  asio::steady_timer heartbeat_timer_;
  asio::steady_timer shutdown_timer_;
  asio::steady_timer ack_timer_;
  asio::steady_timer pace_timer_;
  bool pace_timer_armed_ = false;
  Pacer pacer_;
  std::vector<wire::ResultRecord> pending_;
  bool batch_timer_armed_ = false;
  std::set<uint64_t> in_flight_;
  uint64_t sent_through_ = 0;  ///< highest seq handed to MQTT on this connection
  uint64_t acked_ = 0;         ///< highest seq the aggregator has committed (end-to-end ack)
  uint64_t acked_at_check_ = 0;
  log::RateLimiter refusal_log_{std::chrono::minutes(1)};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool stopping_ = false;
  // [builds] watch_dirs: files are classified on their own thread, recorded on the loop.
  std::unique_ptr<ci::KnowledgeBase> build_kb_;
  std::unique_ptr<ci::BuildFileClassifier> build_files_;
  std::unique_ptr<platform::DirWatcher> build_watcher_;
  std::unique_ptr<asio::thread_pool> build_pool_;
  std::shared_ptr<ActiveDrill> drill_;  ///< last: its timer and fault go before the io_context
};

}  // namespace hale::agent
