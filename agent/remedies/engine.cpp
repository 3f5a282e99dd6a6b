#include "agent/remedies/engine.h"

#include "shared/util/log.h"

#include <asio/post.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <set>

namespace hale::agent::remedies {
namespace {
using Outcome = wire::RemediationOutcome;

std::string auditName(Outcome o) {
  switch (o) {
    case Outcome::Fired:
      return "fired";
    case Outcome::Skipped:
      return "skipped";
    case Outcome::DryRun:
      return "dry_run";
    case Outcome::AwaitingApproval:
      return "awaiting_approval";
    case Outcome::Approved:
      return "approved";
    case Outcome::Executed:
      return "executed";
    case Outcome::Healed:
      return "healed";
    case Outcome::NotHealed:
      return "not_healed";
    case Outcome::RolledBack:
      return "rolled_back";
    case Outcome::Failed:
      return "failed";
  }
  return "unknown";
}

}  // namespace

Engine::Engine(asio::io_context& io, state::StateStore& store, state::AuditLog& audit, const Clock& clock,
               CheckRunner& runner, Emit emit, uint64_t seed)
    : io_(io), audit_(audit), clock_(clock), runner_(runner), emit_(std::move(emit)), limiter_(store.db(), clock),
      policy_(store, {}), attempts_(store.db()), strategy_(store.db(), seed ? seed : std::random_device{}()),
      pool_(std::make_unique<asio::thread_pool>(2)), poll_timer_(io) {}

Engine::~Engine() {
  *alive_ = false;
  poll_timer_.cancel();
  pool_->join();  // actions in flight finish; their results are dropped
}

void Engine::configure(limits::PolicySettings policy, std::map<std::string, Plan> plans) {
  policy_.update(std::move(policy));
  plans_.clear();
  for (auto& [check, plan] : plans) plans_[check] = std::make_shared<Plan>(std::move(plan));
}

void Engine::start() { poll(); }
void Engine::stop() {
  *alive_ = false;
  poll_timer_.cancel();
}

limits::LimitSettings Engine::limitsFor(const Step& step) const {
  auto s = policy_.settings().limits;
  if (step.cooldown) s.cooldown = *step.cooldown;
  return s;
}

ActionContext Engine::contextOf(const Run& run, const std::string& reason) const {
  return {
      run.issue.check,   run.kind, run.issue.issue_id, run.attempt_id, std::string(wire::statusName(run.issue.status)),
      run.issue.message, reason};
}

void Engine::decide(const Run& run, const std::string& action, Outcome outcome, const std::string& reason,
                    const ActionResult* result) {
  wire::RemediationRecord rec;
  rec.attempt_id = run.attempt_id;
  rec.issue_id = run.issue.issue_id;
  rec.check = run.issue.check;
  rec.action = action;
  rec.outcome = outcome;
  rec.reason = reason;
  rec.at_ms = toUnixMillis(clock_.wallNow());
  nlohmann::json detail{{"issue", rec.issue_id}, {"attempt", rec.attempt_id}, {"step", action}, {"reason", reason}};
  if (result) {
    rec.exit_code = result->exit_code;
    rec.duration_ms = static_cast<uint32_t>(result->duration.count());
    detail["argv"] = result->argv;
    detail["exit"] = result->exit_code;
    detail["duration_ms"] = rec.duration_ms;
    detail["output_tail"] = tail(result->output_tail, 512);
  }
  try {
    audit_.append(rec.at_ms, "agent", "remediation", rec.check, auditName(outcome),
                  detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } catch (const std::exception& e) {
    log::error("remedy", "cannot write the audit log", {{"check", rec.check}, {"error", e.what()}});
  }
  log::info("remedy", auditName(outcome), {{"check", rec.check}, {"action", action}, {"reason", reason}});
  if (emit_) emit_(rec);
}

std::vector<size_t> Engine::orderOf(const Plan& plan, const std::string& kind, const std::string& failure) {
  std::vector<size_t> order;
  for (size_t i = 0; i < plan.steps.size();) {
    size_t j = i;
    while (j < plan.steps.size() && plan.steps[j].alternative) ++j;
    if (j == i) {
      order.push_back(i++);
      continue;
    }
    // A run of adjacent alternatives: learned order within the group.
    std::vector<std::string> names;
    for (size_t k = i; k < j; ++k) names.push_back(plan.steps[k].action);
    for (size_t k : strategy_.order(kind, failure, names)) order.push_back(i + k);
    i = j;
  }
  return order;
}

void Engine::onIssue(const wire::IssueRecord& issue, const std::string& check_kind) {
  if (issue.state != wire::IssueState::Opened) {
    if (issue.state == wire::IssueState::Closed) healed_.erase({issue.check, issue.issue_id});
    // Closed on its own (or by the last step): a parked plan has nothing left to do.
    if (auto it = runs_.find(issue.check); it != runs_.end() && it->second->waiting) {
      attempts_.setState(it->second->attempt_id, "cancelled");
      runs_.erase(it);
    }
    return;
  }
  if (auto run = startRun(issue, check_kind))
    asio::post(io_, [this, run, alive = std::weak_ptr<bool>(alive_)] {
      if (auto a = alive.lock(); a && *a) advance(run);
    });
}

void Engine::onRelapse(const wire::IssueRecord& issue, const std::string& check_kind) {
  if (runs_.count(issue.check) || !healed_.erase({issue.check, issue.issue_id})) return;
  if (auto run = startRun(issue, check_kind))
    asio::post(io_, [this, run, alive = std::weak_ptr<bool>(alive_)] {
      if (auto a = alive.lock(); a && *a) advance(run);
    });
}

Engine::RunPtr Engine::startRun(const wire::IssueRecord& issue, const std::string& check_kind) {
  const auto plan = plans_.find(issue.check);
  if (plan == plans_.end() || plan->second->steps.empty() || runs_.count(issue.check)) return nullptr;
  auto run = std::make_shared<Run>();
  run->issue = issue;
  run->kind = check_kind;
  run->plan = plan->second;
  run->last_status = issue.status;
  run->order = orderOf(*run->plan, check_kind, std::string(wire::statusName(issue.status)));
  runs_[issue.check] = run;
  return run;
}

void Engine::resumeOpen(const wire::IssueRecord& issue, const std::string& check_kind) {
  auto run = startRun(issue, check_kind);
  if (!run) return;
  // Steps tried for this issue before the restart are not tried again; the
  // plan carries on with the first step in its order that was not.
  std::set<int64_t> tried;
  std::optional<Attempt> awaiting;
  for (const auto& a : attempts_.forIssue(issue.issue_id, issue.check)) {
    if (a.state == "awaiting")
      awaiting = a;
    else if (a.state != "cancelled" && a.state != "stale")
      tried.insert(a.step);
  }
  while (run->pos < run->order.size() && tried.count(static_cast<int64_t>(run->order[run->pos]))) ++run->pos;
  if (run->pos >= run->order.size()) {
    runs_.erase(issue.check);  // the plan ended before the restart: its failure was counted and paged then
    return;
  }
  if (awaiting && run->pos < run->order.size() && static_cast<int64_t>(run->order[run->pos]) == awaiting->step) {
    // Still parked: approve and expiry work on it as before the restart.
    run->attempt_id = awaiting->id;
    run->waiting = true;
    return;
  }
  if (!tried.empty()) run->executed_any = true;
  decide(
      *run, "plan", wire::RemediationOutcome::Fired,
      fmt::format("agent restarted with the issue open: resuming at step {} of {}", run->pos + 1, run->order.size()));
  asio::post(io_, [this, run, alive = std::weak_ptr<bool>(alive_)] {
    if (auto a = alive.lock(); a && *a) advance(run);
  });
}

Status Engine::trigger(const wire::IssueRecord& issue, const std::string& check_kind, const std::string& actor) {
  const auto plan = plans_.find(issue.check);
  if (plan == plans_.end() || plan->second->steps.empty())
    return makeError(fmt::format("check '{}' has no remedy plan", issue.check));
  if (runs_.count(issue.check)) return makeError(fmt::format("a plan for '{}' is already in progress", issue.check));
  auto run = startRun(issue, check_kind);
  run->requested = true;
  decide(*run, "plan", wire::RemediationOutcome::Fired, "triggered by " + actor);
  asio::post(io_, [this, run, alive = std::weak_ptr<bool>(alive_)] {
    if (auto a = alive.lock(); a && *a) advance(run);
  });
  return {};
}

void Engine::nextStep(const RunPtr& run) {
  ++run->pos;
  run->approved = false;
  run->attempt_id = 0;
  asio::post(io_, [this, run, alive = std::weak_ptr<bool>(alive_)] {
    if (auto a = alive.lock(); a && *a) advance(run);
  });
}

}  // namespace hale::agent::remedies
