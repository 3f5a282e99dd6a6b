#pragma once
// The running agent: lifecycle (start, signals, reload, shutdown) and the
// wiring of its parts on one io_context. The scheduler runs the checks; their
// results take the result pipeline (anomalies, issues, remediation); the
// telemetry publisher carries results and events to the aggregator; the
// command handler acts on signed commands and failover decisions.
#include "agent/ci/build_watch.h"
#include "agent/core/agent_config.h"
#include "agent/core/command_handler.h"
#include "agent/core/result_pipeline.h"
#include "agent/core/scheduler.h"
#include "agent/core/telemetry_publisher.h"
#include "agent/platform/dir_watcher.h"
#include "agent/remedies/engine.h"
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "shared/mqtt/client.h"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <memory>

namespace hale::agent {

struct ActiveDrill;

class Agent final : public remedies::CheckRunner, public ResultSink {
 public:
  explicit Agent(AgentConfig config);
  ~Agent() override;

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
  void keepStateWritable();
  void onRecord(const wire::ResultRecord& record) override;
  void onIssueEvent(const wire::IssueRecord& event) override;
  void onConnected();
  void onMessage(const std::string& topic, const std::string& payload);
  void emitRemediation(const wire::RemediationRecord& record);
  void startBuildWatch();
  void recordWatchedFile(const ci::WatchedFile& file);
  /// A drill asked for by a signed RunDrill command (agent_drill.cpp): injects on the live target
  /// and lets this agent's own scheduler, issue tracker and engine detect and heal it.
  Result<std::string> startDrill(const std::string& check, const std::string& nonce);
  void pollDrill();
  const checks::CommonSettings* settingsOf(const std::string& check) const;

  asio::io_context io_;
  AgentConfig cfg_;
  state::StateStore store_;
  state::AuditLog audit_;
  std::unique_ptr<mqtt::Client> mqtt_;
  std::unique_ptr<TelemetryPublisher> telemetry_;
  std::unique_ptr<remedies::Engine> engine_;
  std::unique_ptr<ResultPipeline> pipeline_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<CommandHandler> commands_;
  asio::signal_set signals_;
  asio::steady_timer shutdown_timer_;
  bool stopping_ = false;
  // [builds] watch_dirs: files are classified on their own thread, recorded on the loop.
  std::unique_ptr<ci::KnowledgeBase> build_kb_;
  std::unique_ptr<ci::BuildFileClassifier> build_files_;
  std::unique_ptr<platform::DirWatcher> build_watcher_;
  std::unique_ptr<asio::thread_pool> build_pool_;
  std::shared_ptr<ActiveDrill> drill_;  ///< last: its timer and fault go before the io_context
};

}  // namespace hale::agent
