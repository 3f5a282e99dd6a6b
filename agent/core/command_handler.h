#pragma once
// Signed commands from the aggregator, and its retained failover decision.
// Each is verified (signature by a configured key, node and region, expiry;
// then the epoch and nonce against state that survives restarts) before
// anything acts, and every decision, executed or refused, is written to the
// hash-chained audit log. Failover hooks run one at a time, in order, off the
// I/O thread.
#include "agent/core/failover_hooks.h"
#include "agent/core/result_pipeline.h"
#include "agent/remedies/engine.h"
#include "agent/state/audit_log.h"
#include "agent/state/command_guard.h"
#include "agent/state/state_store.h"
#include "shared/crypto/crypto.h"
#include "shared/util/log.h"
#include "shared/util/result.h"

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hale::agent {

/// What commands act on besides the engine: the agent's checks and its drills.
struct CommandTargets {
  std::function<const checks::CommonSettings*(const std::string& check)> settings_of;
  /// Starts a drill of `check` (RunDrill); returns what was injected, or why not.
  std::function<Result<std::string>(const std::string& check, const std::string& nonce)> start_drill;
};

class CommandHandler {
 public:
  CommandHandler(asio::io_context& io, state::StateStore& store, state::AuditLog& audit, remedies::Engine& engine,
                 const ResultPipeline& pipeline, CommandTargets targets, std::string node, std::string region);
  /// Waits for a failover hook in progress.
  ~CommandHandler();

  /// The keys that may sign commands and the failover hooks; at start and on every reload.
  void configure(std::vector<crypto::Key> keys, FailoverSettings failover);

  /// A message on the node's or the region's command topic.
  void handleCommand(const std::string& payload);
  /// The retained decision on the failover topic.
  void handleFailover(const std::string& payload);

 private:
  void runFailoverHook(const FailoverTransition& t);
  void refuse(int64_t now, const std::string& action, const std::string& subject, const std::string& why);

  asio::io_context& io_;
  state::StateStore& store_;
  state::AuditLog& audit_;
  remedies::Engine& engine_;
  const ResultPipeline& pipeline_;
  CommandTargets targets_;
  std::string node_, region_;
  std::vector<crypto::Key> keys_;
  FailoverSettings failover_;
  state::CommandGuard guard_;
  FailoverState failover_state_;
  log::RateLimiter refusal_log_{std::chrono::minutes(1)};
  std::unique_ptr<asio::thread_pool> hook_pool_ = std::make_unique<asio::thread_pool>(1);
};

}  // namespace hale::agent
