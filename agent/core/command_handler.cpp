#include "agent/core/command_handler.h"

#include "agent/limits/policy.h"
#include "agent/platform/program_run.h"
#include "shared/util/clock.h"

#include <asio/post.hpp>
#include <fmt/format.h>

#include <span>

namespace hale::agent {
namespace {
std::span<const uint8_t> bytesOf(const std::string& payload) {
  return {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
}
}  // namespace

CommandHandler::CommandHandler(asio::io_context& io, state::StateStore& store, state::AuditLog& audit,
                               remedies::Engine& engine, const ResultPipeline& pipeline, CommandTargets targets,
                               std::string node, std::string region)
    : io_(io), store_(store), audit_(audit), engine_(engine), pipeline_(pipeline), targets_(std::move(targets)),
      node_(std::move(node)), region_(std::move(region)), guard_(store), failover_state_(store, region_) {}

CommandHandler::~CommandHandler() { hook_pool_->join(); }

void CommandHandler::configure(std::vector<crypto::Key> keys, FailoverSettings failover) {
  keys_ = std::move(keys);
  failover_ = std::move(failover);
}

void CommandHandler::refuse(int64_t now, const std::string& action, const std::string& subject,
                            const std::string& why) {
  audit_.append(now, "command", action, subject, "refused", why);
  if (refusal_log_.allow(action, std::chrono::steady_clock::now()) >= 0)
    log::warn(action == "failover" ? "failover" : "command",
              action == "failover" ? "failover decision refused" : "command refused", {{"reason", why}});
}

void CommandHandler::handleCommand(const std::string& payload) {
  const int64_t now = unixMillisNow();
  try {
    if (keys_.empty()) return refuse(now, "command", "-", "no [commands] public_key_files configured");
    auto spec = wire::verifyCommand(bytesOf(payload), keys_, node_, region_, now);
    if (!spec) return refuse(now, "command", "-", spec.error().message);
    const std::string nonce = crypto::toHex(spec->nonce);
    if (auto admitted = guard_.admit(*spec, now); !admitted)
      return refuse(now, "command", nonce, admitted.error().message);
    const std::string action(wire::actionName(spec->action));
    auto executed = [&](const std::string& detail) {
      audit_.append(now, "command", action, nonce, "executed", detail);
    };
    if (const auto* a = std::get_if<wire::AutoRemediationAction>(&spec->action)) {
      limits::Policy::setAuto(store_, a->check, a->enabled);
      const std::string scope = a->check.empty() ? "auto-remediation" : "auto-remediation of " + a->check;
      executed(scope + (a->enabled ? " on" : " off"));
      log::info("command", "auto-remediation switched",
                {{"enabled", a->enabled ? "true" : "false"}, {"check", a->check.empty() ? "*" : a->check}});
      return;
    }
    if (const auto* a = std::get_if<wire::ApproveAction>(&spec->action)) {
      if (auto ok = engine_.approve(a->attempt_id, "command:" + nonce); !ok)
        return refuse(now, "command", nonce, ok.error().message);
      return executed("approved attempt " + std::to_string(a->attempt_id));
    }
    if (const auto* a = std::get_if<wire::TriggerAction>(&spec->action)) {
      const auto* settings = targets_.settings_of(a->check);
      if (!settings)
        return refuse(now, "command", nonce, "trigger: no check '" + a->check.substr(0, 64) + "' on this agent");
      const auto* open = pipeline_.openIssue(a->check);
      if (!open) return refuse(now, "command", nonce, "trigger: check '" + a->check + "' has no open issue");
      if (auto ok = engine_.trigger(*open, settings->kind, "command:" + nonce); !ok)
        return refuse(now, "command", nonce, "trigger: " + ok.error().message);
      executed("remediation of " + a->check + " triggered");
      log::info("command", "remediation triggered", {{"check", a->check}});
      return;
    }
    if (const auto* a = std::get_if<wire::DrillAction>(&spec->action)) {
      auto started = targets_.start_drill(a->check, nonce);
      if (!started) return refuse(now, "command", nonce, started.error().message);
      return executed(*started);
    }
    // The remediation engine, drills and failover hooks act on the others; an
    // agent without them says so in the audit trail rather than pretending.
    refuse(now, "command", nonce, "action '" + action + "' is not handled by this agent version");
  } catch (const std::exception& e) {
    log::error("command", "cannot process command", {{"error", e.what()}});
  }
}

// The failover decision is retained, so it comes again on every reconnect: a
// decision already applied is dropped quietly, without an audit entry.
void CommandHandler::handleFailover(const std::string& payload) {
  const int64_t now = unixMillisNow();
  try {
    if (payload.empty()) return;  // a cleared retained message
    if (keys_.empty()) return refuse(now, "failover", "-", "no [commands] public_key_files configured");
    auto spec = wire::verifyCommand(bytesOf(payload), keys_, node_, "global", now);
    if (!spec) return refuse(now, "failover", "-", spec.error().message);
    const std::string nonce = crypto::toHex(spec->nonce);
    auto verdict = failover_state_.admit(*spec);
    if (!verdict) return refuse(now, "failover", nonce, verdict.error().message);
    if (verdict->already_applied) {
      log::debug("failover", "failover decision already applied", {{"epoch", std::to_string(spec->epoch)}});
      return;
    }
    const auto& role = std::get<wire::RegionRoleAction>(spec->action);
    if (!verdict->transition) {
      audit_.append(now, "command", "failover", nonce, "executed",
                    fmt::format("epoch {}: {} active; region {} keeps its role", spec->epoch, role.region, region_));
      return;
    }
    const auto t = *verdict->transition;
    audit_.append(now, "command", "failover", nonce, "executed",
                  fmt::format("epoch {}: region {} {}", t.epoch, region_, t.promote ? "promoted" : "demoted"));
    log::warn("failover", t.promote ? "region promoted" : "region demoted",
              {{"region", region_}, {"active", t.active_region}, {"epoch", std::to_string(t.epoch)}});
    runFailoverHook(t);
  } catch (const std::exception& e) {
    log::error("failover", "cannot process failover decision", {{"error", e.what()}});
  }
}

namespace {
/// The audit outcome and detail of a hook's run.
std::pair<std::string, std::string> hookOutcome(const Result<platform::CapturedRun>& run) {
  if (!run) return {"failed", run.error().message};
  if (run->timed_out) return {"failed", "timed out"};
  if (run->term_signal) return {"failed", fmt::format("killed by signal {}", run->term_signal)};
  return {run->exit_code == 0 ? "executed" : "failed", fmt::format("exit {}", run->exit_code)};
}
}  // namespace

void CommandHandler::runFailoverHook(const FailoverTransition& t) {
  const std::string name = t.promote ? "on_promote" : "on_demote";
  const auto& argv = t.promote ? failover_.on_promote : failover_.on_demote;
  if (argv.empty()) return;
  platform::ProgramSpec spec;
  spec.argv = argv;
  spec.env = failoverHookEnv(region_, t);
  spec.timeout = failover_.hook_timeout;
  asio::post(*hook_pool_, [this, spec = std::move(spec), name, epoch = t.epoch] {
    const auto started = std::chrono::steady_clock::now();
    auto run = platform::runProgram(spec);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    asio::post(io_, [this, run = std::move(run), name, epoch, ms] {
      auto [outcome, detail] = hookOutcome(run);
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
