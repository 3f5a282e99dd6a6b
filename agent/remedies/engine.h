#pragma once
// The remediation engine: when an issue opens, walks the check's plan step by
// step on the agent's io_context. Each step passes the policy (switches,
// allowlist, approval) and the limiter, runs on a worker thread, waits its
// settle time on an Asio timer and re-runs the check: healed ends the plan,
// not healed moves on, failed or made worse runs the step's rollback first.
// Every decision goes to the hash-chained audit log and out as a
// RemediationEvent.
#include "agent/limits/limiter.h"
#include "agent/limits/policy.h"
#include "agent/remedies/attempts.h"
#include "agent/remedies/remedy.h"
#include "agent/remedies/strategy.h"
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "shared/wire/envelope.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace hale::agent::remedies {

/// What the engine needs from the agent: a way to verify a step.
class CheckRunner {
 public:
  virtual ~CheckRunner() = default;
  /// Runs `check` now, off the event loop, then calls `done` on the io_context.
  virtual void runCheckNow(const std::string& check, std::function<void(const wire::ResultRecord&)> done) = 0;
};

class Engine {
 public:
  using Emit = std::function<void(const wire::RemediationRecord&)>;

  Engine(asio::io_context& io, state::StateStore& store, state::AuditLog& audit, const Clock& clock,
         CheckRunner& runner, Emit emit, uint64_t seed = 0);
  ~Engine();

  /// Sets (or, on reload, replaces) policy and plans; running plans keep theirs.
  void configure(limits::PolicySettings policy, std::map<std::string, Plan> plans);
  /// Starts the approval poll (approvals made by the CLI, expiries).
  void start();
  void stop();

  /// Feeds an issue event: an opened issue with a plan starts remediation.
  void onIssue(const wire::IssueRecord& issue, const std::string& check_kind);
  /// After an agent restart: an issue still open continues its plan after the
  /// steps already tried for it (from the attempts table), within the
  /// persisted budgets; a step that awaited approval awaits it again.
  void resumeOpen(const wire::IssueRecord& issue, const std::string& check_kind);
  /// A failing result while the issue is still open after its plan healed it
  /// (the tracker closes an issue only after pass_after good results): the
  /// fault came back, so the plan runs again, within the same limits.
  void onRelapse(const wire::IssueRecord& issue, const std::string& check_kind);
  /// Runs the plan for an open issue now (a signed TriggerRemediation): every
  /// policy and limit applies except the auto-remediation switch, since a
  /// person asked. Refuses a check without a plan or with a plan in progress.
  Status trigger(const wire::IssueRecord& issue, const std::string& check_kind, const std::string& actor);
  /// Approves an awaiting step and resumes its plan. `actor`: "cli", "command:<nonce>".
  Status approve(uint64_t attempt_id, const std::string& actor);

  limits::Limiter& limiter() { return limiter_; }
  limits::Policy& policy() { return policy_; }
  Strategy& strategy() { return strategy_; }
  size_t activeRunsForTest() const { return runs_.size(); }
  /// True while a plan for `check` runs or waits for approval (drills wait for the end).
  bool busy(const std::string& check) const { return runs_.count(check) > 0; }

 private:
  struct Run {
    wire::IssueRecord issue;
    std::string kind;
    std::shared_ptr<Plan> plan;
    std::vector<size_t> order;
    size_t pos = 0;
    uint64_t attempt_id = 0;
    bool approved = false;  ///< the current step was approved
    bool waiting = false;   ///< parked until approval or expiry
    bool executed_any = false;
    bool crash_counted = false;  ///< a quick crash was charged to the breaker once
    bool requested = false;      ///< started by a person: the auto-remediation switch does not apply
    wire::CheckStatus last_status = wire::CheckStatus::Unknown;
  };
  using RunPtr = std::shared_ptr<Run>;
  RunPtr startRun(const wire::IssueRecord& issue, const std::string& check_kind);
  void advance(const RunPtr& run);
  void nextStep(const RunPtr& run);
  void execute(const RunPtr& run, size_t index);
  void onExecuted(const RunPtr& run, size_t index, const ActionResult& result);
  void onVerified(const RunPtr& run, size_t index, const wire::ResultRecord& record);
  void rollback(const RunPtr& run, size_t index, const std::string& why);
  void finish(const RunPtr& run, bool healed, const std::string& why);
  void notify(const RunPtr& run, const std::string& reason);
  void poll();
  void resume(uint64_t attempt_id, const std::string& actor);
  void decide(const Run& run, const std::string& action, wire::RemediationOutcome outcome, const std::string& reason,
              const ActionResult* result = nullptr);
  limits::LimitSettings limitsFor(const Step& step) const;
  ActionContext contextOf(const Run& run, const std::string& reason = {}) const;
  std::vector<size_t> orderOf(const Plan& plan, const std::string& kind, const std::string& failure);

  asio::io_context& io_;
  state::AuditLog& audit_;
  const Clock& clock_;
  CheckRunner& runner_;
  Emit emit_;
  limits::Limiter limiter_;
  limits::Policy policy_;
  Attempts attempts_;
  Strategy strategy_;
  std::map<std::string, std::shared_ptr<Plan>> plans_;
  std::map<std::string, RunPtr> runs_;                 ///< by check: one plan at a time per check
  std::set<std::pair<std::string, uint64_t>> healed_;  ///< (check, issue) healed, issue not yet closed
  std::unique_ptr<asio::thread_pool> pool_;
  asio::steady_timer poll_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hale::agent::remedies
