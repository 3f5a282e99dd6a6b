// The engine's step machine: policy, limits, execution on the worker pool,
// settle, verification, rollback and the end of a plan.
#include "agent/remedies/engine.h"

#include "shared/util/log.h"

#include <asio/post.hpp>
#include <fmt/format.h>

namespace hale::agent::remedies {
namespace {
using Outcome = wire::RemediationOutcome;

constexpr std::chrono::seconds kPollInterval{1};
constexpr int64_t kNotificationsPerHour = 6;

int rank(wire::CheckStatus s) {
  switch (s) {
    case wire::CheckStatus::Ok:
      return 0;
    case wire::CheckStatus::Warn:
      return 1;
    case wire::CheckStatus::Crit:
      return 3;
    default:
      return 2;
  }
}

/// Runs `action` on the pool and hands the result back on the io_context.
template <class Done>
void runOnPool(asio::thread_pool& pool, asio::io_context& io, std::weak_ptr<bool> alive, Action* action,
               ActionContext ctx, std::shared_ptr<Plan> keep, Done done) {
  asio::post(pool, [&io, alive, action, ctx = std::move(ctx), keep = std::move(keep), done = std::move(done)] {
    const auto start = std::chrono::steady_clock::now();
    ActionResult r;
    try {
      r = action->execute(ctx);
    } catch (const std::exception& e) {
      r.ok = false;
      r.detail = e.what();
    }
    if (r.duration.count() == 0)
      r.duration = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
    asio::post(io, [alive, r = std::move(r), done, keep] {
      if (auto a = alive.lock(); a && *a) done(r);
    });
  });
}
}  // namespace

void Engine::advance(const RunPtr& run) {
  const std::string& check = run->issue.check;
  if (run->pos >= run->order.size()) return finish(run, false, "every step tried, check still failing");
  const size_t index = run->order[run->pos];
  const Step& step = run->plan->steps[index];
  const int64_t now = toUnixMillis(clock_.wallNow());
  if (!run->requested && !policy_.autoEnabled(check)) {
    decide(*run, step.action, Outcome::Skipped, "auto-remediation is off");
    runs_.erase(check);
    return;
  }
  for (const auto& program : step.impl->programs())
    if (auto ok = policy_.allowProgram(program); !ok) {
      decide(*run, step.action, Outcome::Skipped, "refused: " + ok.error().message);
      return nextStep(run);
    }
  if (step.approval && !run->approved) {
    const auto ttl = policy_.settings().approval_ttl.count();
    run->attempt_id = attempts_.add(run->issue.issue_id, check, index, step.action, "awaiting", now, now + ttl);
    run->waiting = true;
    decide(*run, step.action, Outcome::AwaitingApproval,
           fmt::format("{}; approve with `hale-agent approve {}` within {}", step.impl->describe(), run->attempt_id,
                       config::formatDuration(policy_.settings().approval_ttl)));
    return;
  }
  run->waiting = false;
  const auto limits = limitsFor(step);
  const std::string resource = step.impl->resource().empty() ? check : step.impl->resource();
  const std::string step_key = fmt::format("{}#{}:{}", check, index, step.action);
  // -1: backoff does not apply (a plain value: GCC 12 misreads an optional here).
  Millis uptime{-1};
  if (!policy_.dryRun())
    if (auto u = step.impl->crashUptime(contextOf(*run))) uptime = *u;
  if (uptime.count() >= 0 && uptime < limits.backoff_reset_after && !run->crash_counted) {
    // A child that did not stay up was not healed by its last restart: a crash
    // loop counts toward the breaker, which is what ends a restart storm.
    run->crash_counted = true;
    if (limiter_.finished(check, false, limits)) {
      decide(*run, step.action, Outcome::Failed,
             fmt::format("crash loop: up only {} ms; circuit breaker opened", uptime.count()));
      notify(run, "crash loop: circuit breaker opened");
    }
  }
  const auto admission = limiter_.admit(check, resource, step_key, run->issue.issue_id, limits);
  if (!admission.allowed) {
    decide(*run, step.action, Outcome::Skipped, admission.reason);
    if (!admission.budget_spent) return nextStep(run);
    notify(run, admission.reason);
    runs_.erase(check);
    return;
  }
  if (run->attempt_id == 0) {
    run->attempt_id = attempts_.add(run->issue.issue_id, check, index, step.action, "fired", now);
  } else {
    attempts_.setState(run->attempt_id, "fired");
  }
  // Crash-loop backoff: the delay doubles per quick exit and starts over after a stable run.
  Millis delay{0};
  if (uptime.count() >= 0) delay = limiter_.backoff(resource, limits).onExit(uptime);
  decide(*run, step.action, Outcome::Fired,
         delay.count() > 0 ? fmt::format("{} after {} ms crash-loop backoff", step.impl->describe(), delay.count())
                           : step.impl->describe());
  if (policy_.dryRun()) {
    decide(*run, step.action, Outcome::DryRun, "dry run, not executed: " + step.impl->describe());
    return nextStep(run);
  }
  if (delay.count() == 0) return execute(run, index);
  auto timer = std::make_shared<asio::steady_timer>(io_, delay);
  timer->async_wait([this, run, index, timer, alive = std::weak_ptr<bool>(alive_)](std::error_code ec) {
    if (auto a = alive.lock(); !ec && a && *a) execute(run, index);
  });
}

void Engine::execute(const RunPtr& run, size_t index) {
  Step& step = run->plan->steps[index];
  runOnPool(*pool_, io_, alive_, step.impl.get(), contextOf(*run), run->plan,
            [this, run, index](const ActionResult& r) { onExecuted(run, index, r); });
}

void Engine::onExecuted(const RunPtr& run, size_t index, const ActionResult& r) {
  const Step& step = run->plan->steps[index];
  run->executed_any = true;
  decide(*run, step.action, r.ok ? Outcome::Executed : Outcome::Failed, r.detail, &r);
  if (!r.ok) return rollback(run, index, "step failed");
  auto timer = std::make_shared<asio::steady_timer>(io_, step.settle);
  timer->async_wait([this, run, index, timer, alive = std::weak_ptr<bool>(alive_)](std::error_code ec) {
    auto a = alive.lock();
    if (ec || !a || !*a) return;
    runner_.runCheckNow(run->issue.check, [this, run, index, alive](const wire::ResultRecord& rec) {
      if (auto a2 = alive.lock(); a2 && *a2) onVerified(run, index, rec);
    });
  });
}

void Engine::onVerified(const RunPtr& run, size_t index, const wire::ResultRecord& rec) {
  const Step& step = run->plan->steps[index];
  const std::string failure(wire::statusName(run->issue.status));
  if (rec.status == wire::CheckStatus::Ok) {
    strategy_.record(run->kind, failure, step.action, true);
    decide(*run, step.action, Outcome::Healed, "check ok after this step: " + rec.message);
    return finish(run, true, rec.message);
  }
  strategy_.record(run->kind, failure, step.action, false);
  const bool worse = rank(rec.status) > rank(run->last_status);
  decide(*run, step.action, Outcome::NotHealed,
         fmt::format("{}: {}", worse ? "made worse" : "still failing", rec.message));
  if (worse) return rollback(run, index, "made worse");
  run->last_status = rec.status;
  nextStep(run);
}

void Engine::rollback(const RunPtr& run, size_t index, const std::string& why) {
  const Step& step = run->plan->steps[index];
  if (!step.rollback) return nextStep(run);
  Step& back = *step.rollback;
  for (const auto& program : back.impl->programs())
    if (auto ok = policy_.allowProgram(program); !ok) {
      decide(*run, back.action, Outcome::Skipped, "rollback refused: " + ok.error().message);
      return nextStep(run);
    }
  if (policy_.dryRun()) {
    decide(*run, back.action, Outcome::DryRun, "dry run, rollback not executed: " + back.impl->describe());
    return nextStep(run);
  }
  // Rollbacks bypass the budgets on purpose: undoing damage must never be rate-limited.
  runOnPool(*pool_, io_, alive_, back.impl.get(), contextOf(*run, why), run->plan,
            [this, run, why, action = back.action](const ActionResult& r) {
              decide(*run, action, r.ok ? Outcome::RolledBack : Outcome::Failed,
                     "rollback after " + why + ": " + r.detail, &r);
              nextStep(run);
            });
}

void Engine::finish(const RunPtr& run, bool healed, const std::string& why) {
  runs_.erase(run->issue.check);
  if (!run->executed_any) {
    if (!healed) decide(*run, "plan", Outcome::Failed, "nothing executed: " + why);
    return;  // dry runs and refusals say nothing about whether remedies work
  }
  const bool opened = limiter_.finished(run->issue.check, healed, policy_.settings().limits);
  if (healed) {
    healed_.insert({run->issue.check, run->issue.issue_id});
    return;
  }
  decide(*run, "plan", Outcome::Failed, why);
  notify(run, opened ? "circuit breaker opened: remediation stopped for this check; " + why : why);
}

void Engine::notify(const RunPtr& run, const std::string& reason) {
  if (policy_.dryRun() || run->plan->notify.empty()) return;
  // A check whose budget is spent would otherwise page on every flap: six per hour per check.
  limits::TokenBucket pages(limiter_.store(), clock_, "bucket:notify:" + run->issue.check, kNotificationsPerHour);
  if (!pages.tryTake()) {
    decide(*run, "notify", Outcome::Skipped, "notification budget spent: " + reason);
    return;
  }
  for (auto& step : run->plan->notify) {
    runOnPool(*pool_, io_, alive_, step.impl.get(), contextOf(*run, reason), run->plan,
              [this, run, action = step.action](const ActionResult& r) {
                decide(*run, action, r.ok ? Outcome::Executed : Outcome::Failed, r.detail, &r);
              });
  }
}

void Engine::poll() {
  poll_timer_.expires_after(kPollInterval);
  poll_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code ec) {
    auto a = alive.lock();
    if (ec || !a || !*a) return;
    try {
      const int64_t now = toUnixMillis(clock_.wallNow());
      attempts_.expire(now);
      // Also catches an attempt that `approve` found expired before this poll did.
      std::vector<RunPtr> expired;
      for (auto& [check, run] : runs_)
        if (auto a = run->waiting ? attempts_.get(run->attempt_id) : std::nullopt; a && a->state == "expired")
          expired.push_back(run);
      for (auto& run : expired) {
        run->waiting = false;
        decide(*run, run->plan->steps[run->order[run->pos]].action, Outcome::Skipped, "approval expired");
        nextStep(run);
      }
      for (const auto& approved : attempts_.inState("approved")) resume(approved.id, "cli");
    } catch (const std::exception& e) {
      log::error("remedy", "approval poll failed", {{"error", e.what()}});
    }
    poll();
  });
}

Status Engine::approve(uint64_t attempt_id, const std::string& actor) {
  if (auto ok = attempts_.approve(attempt_id, toUnixMillis(clock_.wallNow())); !ok) return ok;
  resume(attempt_id, actor);
  return {};
}

void Engine::resume(uint64_t attempt_id, const std::string& actor) {
  for (auto& [check, run] : runs_) {
    if (!run->waiting || run->attempt_id != attempt_id) continue;
    attempts_.setState(attempt_id, "resumed");
    run->approved = true;
    run->waiting = false;
    decide(*run, run->plan->steps[run->order[run->pos]].action, Outcome::Approved, "approved by " + actor);
    auto r = run;
    asio::post(io_, [this, r, alive = std::weak_ptr<bool>(alive_)] {
      if (auto a = alive.lock(); a && *a) advance(r);
    });
    return;
  }
  // No plan waits for it (the agent restarted, or the issue closed): nothing to resume.
  attempts_.setState(attempt_id, "stale");
}

}  // namespace hale::agent::remedies
