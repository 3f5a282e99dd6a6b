#include "agent/core/drill_session.h"

#include "agent/core/agent_config.h"
#include "agent/core/result_pipeline.h"
#include "agent/core/scheduler.h"
#include "agent/drills/drill.h"
#include "agent/platform/supervisor.h"
#include "agent/remedies/attempts.h"
#include "agent/remedies/engine.h"
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "shared/util/log.h"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>

namespace hale::agent {
namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kEnginePoll = std::chrono::milliseconds(20);
constexpr int kBaselineTries = 20;  // a supervised child may need a moment to start

int64_t msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

class Session final : public remedies::CheckRunner, public ResultSink {
 public:
  Session(AgentConfig& cfg, checks::CheckPtr check, remedies::Plan plan, drills::DrillSettings settings,
          toml::table table, const drills::DrillKind& kind, std::chrono::milliseconds timeout, const DrillOptions& opts)
      : cfg_(cfg), check_(std::move(check)), settings_(std::move(settings)), table_(std::move(table)),
        injector_(kind.make()), timeout_(timeout), opts_(opts), store_(cfg.state_dir, cfg.outbox_max_messages),
        audit_(store_.db()), engine_(io_, store_, audit_, RealClock::instance(), *this,
                                     [this](const wire::RemediationRecord& r) { onDecision(r); }),
        pipeline_(store_, engine_, *this), timer_(io_), deadline_(io_) {
    report_.check = check_->name();
    report_.kind = check_->common().kind;
    std::map<std::string, remedies::Plan> plans;
    plans.emplace(check_->name(), std::move(plan));
    engine_.configure(cfg.remediation, std::move(plans));
  }

  DrillReport run() {
    if (pipeline_.openIssue(check_->name())) {
      report_.reason = "an issue is already open for this check; drill once it has closed";
      return report_;
    }
    watch(check_);  // before the baseline: watching a supervised child starts it
    engine_.start();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([this](std::error_code ec) {
      if (!ec)
        finish(DrillVerdict::NotHealed,
               fmt::format("timed out after {} in the {} phase", config::formatDuration(timeout_), phaseName()));
    });
    say(fmt::format("{}: checking that {} is healthy", check_->name(), report_.kind));
    baseline();
    io_.run();
    cleanup();
    return report_;
  }

  /// The engine verifies a step through the scheduler, like the daemon.
  void runCheckNow(const std::string& name, std::function<void(const wire::ResultRecord&)> done) override {
    if (name != check_->name() || done_) return;
    (void)scheduler_->runNow(scheduler_->checks().front()->name(), std::move(done));
  }

 private:
  enum class Phase { Baseline, Detect, Heal };
  const char* phaseName() const {
    switch (phase_) {
      case Phase::Baseline:
        return "baseline";
      case Phase::Detect:
        return "detection";
      case Phase::Heal:
        return "remediation";
    }
    return "?";
  }
  void say(const std::string& line) {
    if (opts_.progress) opts_.progress(line);
  }

  /// Every run of the watched check goes through one scheduler, started at once: its periodic
  /// runs are the detection, its event watches trigger runs as the daemon's do.
  void watch(const checks::CheckPtr& check) {
    scheduler_ = std::make_unique<Scheduler>(
        io_, std::vector<checks::CheckPtr>{check}, [this](const wire::ResultRecord& r) { onResult(r); }, 1);
    scheduler_->start();
  }

  void baseline() {
    (void)scheduler_->runNow(check_->name(), [this](const wire::ResultRecord& r) {
      // Off the scheduler's own call: injecting may replace the scheduler.
      asio::post(io_, [this, r] { onBaseline(r); });
    });
  }

  void onBaseline(const wire::ResultRecord& r) {
    if (done_) return;
    if (r.status != wire::CheckStatus::Ok && injector_->needsHealthyBaseline()) {
      if (++baseline_tries_ < kBaselineTries) {
        timer_.expires_after(std::chrono::milliseconds(100));
        timer_.async_wait([this](std::error_code ec) {
          if (!ec) baseline();
        });
        return;
      }
      return finish(DrillVerdict::NotHealed, "the check is not ok before the drill: " + r.message);
    }
    drills::Target target{table_, cfg_.file, *check_, settings_, env_};
    auto fault = injector_->inject(target, io_);
    if (!fault) return finish(DrillVerdict::NotDrillable, fault.error().message);
    fault_ = std::move(*fault);
    report_.fault = fault_->describe();
    injected_at_ = Clock::now();
    phase_ = Phase::Detect;
    say(fmt::format("{}: injected: {}", check_->name(), report_.fault));
    if (auto replacement = fault_->replacement()) return watch(replacement);
    scheduler_->runNow(0);  // detection starts now, then goes on at the check's interval
  }

  void onResult(const wire::ResultRecord& r) {
    if (phase_ == Phase::Baseline || done_) return;
    if (auto fed = pipeline_.feed(check_->common(), r); !fed)
      finish(DrillVerdict::NotHealed, "state database: " + fed.error().message);
  }

  void onRecord(const wire::ResultRecord& r) override {
    say(fmt::format("{}: {} {}", check_->name(), wire::statusName(r.status), r.message));
  }

  void onIssueEvent(const wire::IssueRecord& event) override {
    if (event.state == wire::IssueState::Opened && phase_ == Phase::Detect) {
      issue_ = event;
      report_.issue_id = event.issue_id;
      report_.detect_ms = msSince(injected_at_);
      opened_at_ = Clock::now();
      phase_ = Phase::Heal;
      scheduler_->stop();  // from here on the check runs when the engine verifies a step
      say(fmt::format("{}: issue {} opened after {} ms; remedy plan starts", check_->name(), event.issue_id,
                      *report_.detect_ms));
      pollEngine();
    }
    send([&](const wire::EnvelopeHeader& h) { return wire::buildIssueEvent(h, event); });
  }

  void pollEngine() {
    timer_.expires_after(kEnginePoll);
    timer_.async_wait([this](std::error_code ec) {
      if (ec || done_) return;
      if (engine_.busy(check_->name())) return pollEngine();
      if (!report_.healed_by.empty()) return finish(DrillVerdict::Healed, "");
      finish(DrillVerdict::NotHealed, last_reason_.empty() ? "the plan ended without healing" : last_reason_);
    });
  }

  void onDecision(const wire::RemediationRecord& r) {
    report_.decisions.push_back(r);
    say(fmt::format("{}: {} {}: {}", check_->name(), r.action, wire::remediationOutcomeName(r.outcome), r.reason));
    if (r.outcome == wire::RemediationOutcome::Healed && report_.healed_by.empty()) {
      report_.healed_by = r.action;
      report_.heal_ms = msSince(opened_at_);
    } else if (r.outcome != wire::RemediationOutcome::Fired && r.outcome != wire::RemediationOutcome::Executed &&
               (r.action != "plan" || last_reason_.empty())) {
      // A step's own reason (cooldown, still failing, refused) says more than the plan's summary.
      last_reason_ = fmt::format("{}: {}", r.action, r.reason);
    }
    send([&](const wire::EnvelopeHeader& h) { return wire::buildRemediationEvent(h, r); });
    if (r.outcome == wire::RemediationOutcome::AwaitingApproval) {
      // A drill does not wait for a human, and leaves nothing in `hale-agent pending`.
      remedies::Attempts(store_.db()).setState(r.attempt_id, "cancelled");
      finish(DrillVerdict::NotHealed, fmt::format("{}: needs approval; a drill does not wait for one", r.action));
    }
  }

  /// A running daemon sends what is in the outbox: the drill reaches the aggregator like any remediation.
  template <class Build>
  void send(Build build) {
    if (!cfg_.mqtt_enabled) return;
    try {
      store_.outboxAppend([&](uint64_t seq) {
        return build(wire::EnvelopeHeader{cfg_.node, cfg_.region, seq, unixMillisNow()});
      });
    } catch (const std::exception& e) {
      log::warn("drill", "cannot queue telemetry", {{"error", e.what()}});
    }
  }

  void finish(DrillVerdict v, const std::string& reason) {
    if (done_) return;
    done_ = true;
    report_.verdict = v;
    report_.reason = reason;
    timer_.cancel();
    deadline_.cancel();
    engine_.stop();
    io_.stop();
  }

  void cleanup() {
    scheduler_.reset();  // no run is started after this; one in progress ends on its own, its result dropped
    fault_.reset();      // the fill file, listener or test certificate goes first, whatever happened
    closeIssue();
    stopChild();
    // The verdict, like the daemon's drills: one RemediationEvent with action "drill".
    wire::RemediationRecord verdict;
    verdict.issue_id = report_.issue_id;
    verdict.check = report_.check;
    verdict.action = "drill";
    verdict.outcome = report_.verdict == DrillVerdict::Healed ? wire::RemediationOutcome::Healed
                                                              : wire::RemediationOutcome::NotHealed;
    verdict.reason =
        report_.verdict == DrillVerdict::Healed
            ? fmt::format("drill healed by {}: detected in {} ms, healed {} ms after the issue opened; {}",
                          report_.healed_by, report_.detect_ms.value_or(0), report_.heal_ms.value_or(0), report_.fault)
            : fmt::format("drill not healed: {}; {}", report_.reason, report_.fault);
    verdict.at_ms = unixMillisNow();
    if (report_.verdict != DrillVerdict::NotDrillable)
      send([&](const wire::EnvelopeHeader& h) { return wire::buildRemediationEvent(h, verdict); });
    try {
      audit_.append(unixMillisNow(), "drill", "drill", check_->name(), std::string(drillVerdictName(report_.verdict)),
                    toJson(report_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } catch (const std::exception& e) {
      log::warn("drill", "cannot write the audit log", {{"error", e.what()}});
    }
  }

  /// The drill's issue does not outlive it.
  void closeIssue() {
    if (!issue_) return;
    const auto* open = pipeline_.openIssue(check_->name());
    if (!open || open->issue_id != issue_->issue_id) return;
    wire::IssueRecord closed = *open;
    closed.state = wire::IssueState::Closed;
    closed.closed_at_ms = unixMillisNow();
    closed.message = "closed at the end of a drill";
    try {
      store_.updateIssue(closed);
    } catch (const std::exception& e) {
      log::warn("drill", "cannot close the drill's issue", {{"error", e.what()}});
    }
    send([&](const wire::EnvelopeHeader& h) { return wire::buildIssueEvent(h, closed); });
  }

  /// The supervised child this drill started goes with it.
  void stopChild() {
    if (!table_.get("argv")) return;
    auto child = platform::supervisedChild(check_->name());
    if (!child || &child->io() != &io_) return;
    child->onExit(nullptr);
    if (const int pid = child->pid(); pid > 0) ::kill(pid, SIGTERM);
    io_.restart();
    for (int i = 0; i < 100 && child->running(); ++i) io_.run_for(std::chrono::milliseconds(10));
    if (const int pid = child->pid(); pid > 0) ::kill(pid, SIGKILL);
    io_.run_for(std::chrono::milliseconds(10));
  }

  asio::io_context io_;  ///< first: the checks' watches and the fault's listeners are registered with it
  AgentConfig& cfg_;
  checks::CheckPtr check_;
  drills::DrillSettings settings_;
  toml::table table_;
  drills::InjectorPtr injector_;
  std::chrono::milliseconds timeout_;
  const DrillOptions& opts_;
  checks::CheckEnv env_{RealClock::instance(), cfg_.state_dir};
  state::StateStore store_;
  state::AuditLog audit_;
  remedies::Engine engine_;
  ResultPipeline pipeline_;
  std::unique_ptr<Scheduler> scheduler_;
  asio::steady_timer timer_;
  asio::steady_timer deadline_;
  drills::FaultPtr fault_;
  Phase phase_ = Phase::Baseline;
  int baseline_tries_ = 0;
  bool done_ = false;
  Clock::time_point injected_at_{}, opened_at_{};
  std::optional<wire::IssueRecord> issue_;
  std::string last_reason_;
  DrillReport report_;
};

}  // namespace

std::vector<std::string> drillCheckNames(const std::string& config_file) {
  const auto cfg = loadAgentConfig(config_file);
  std::vector<std::string> names;
  for (const auto& c : cfg.checks) names.push_back(c->name());
  return names;
}

DrillReport runDrill(const std::string& config_file, const std::string& name, const DrillOptions& options) {
  DrillReport report;
  report.check = name;
  AgentConfig cfg;
  toml::table root;
  try {
    cfg = loadAgentConfig(config_file);
    root = config::parseFile(config_file);
  } catch (const std::exception& e) {
    report.verdict = DrillVerdict::ConfigError;
    report.reason = e.what();
    return report;
  }
  if (options.quiet_logs) log::configure(log::Level::Warn, log::Format::Text);
  if (!options.state_dir.empty()) cfg.state_dir = options.state_dir;
  checks::CheckPtr check;
  for (auto& c : cfg.checks)
    if (c && c->name() == name) check = std::move(c);
  auto raw = drills::findCheckTable(root, config_file, name);  // [check.drill] was validated at load
  if (!check || !raw) {
    report.verdict = DrillVerdict::ConfigError;
    report.reason = fmt::format("no check named '{}' in {}", name, config_file);
    return report;
  }
  report.kind = check->common().kind;
  const drills::DrillKind* kind = drills::findDrill(report.kind);
  if (!kind) {
    report.verdict = DrillVerdict::NotDrillable;
    report.reason = fmt::format("not drillable: no safe way to inject the failure a {} check watches for", report.kind);
    return report;
  }
  remedies::Plan plan;
  if (auto it = cfg.plans.find(name); it != cfg.plans.end()) plan = std::move(it->second);
  if (plan.steps.empty()) {
    report.verdict = DrillVerdict::NotDrillable;
    report.reason = "not drillable: the check has no remedy plan ([[check.remedy]]) to exercise";
    return report;
  }
  // Long enough to detect at the check's own cadence and to work through every step.
  auto timeout = options.timeout.value_or(std::chrono::milliseconds(0));
  if (!options.timeout) {
    timeout = check->common().interval * (check->common().fail_after + 2) + std::chrono::seconds(30);
    for (const auto& s : plan.steps) timeout += s.settle + std::chrono::seconds(5);
  }
  try {
    Session session(cfg, std::move(check), std::move(plan), std::move(raw->settings), std::move(raw->table), *kind,
                    timeout, options);
    return session.run();
  } catch (const std::exception& e) {
    report.verdict = DrillVerdict::NotHealed;
    report.reason = e.what();
    return report;
  }
}

}  // namespace hale::agent
