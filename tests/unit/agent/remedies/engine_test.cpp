#include "agent/remedies/engine.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <asio/post.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <deque>
#include <filesystem>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;
using wire::RemediationOutcome;

namespace {

/// Verification results the test scripts: each re-run pops the next status.
struct ScriptedRunner final : remedies::CheckRunner {
  asio::io_context& io;
  std::deque<wire::CheckStatus> statuses;
  int runs = 0;
  explicit ScriptedRunner(asio::io_context& io_) : io(io_) {}
  void runCheckNow(const std::string& check, std::function<void(const wire::ResultRecord&)> done) override {
    ++runs;
    wire::ResultRecord r;
    r.check = check;
    r.status = statuses.empty() ? wire::CheckStatus::Crit : statuses.front();
    if (!statuses.empty()) statuses.pop_front();
    r.message = std::string(wire::statusName(r.status));
    asio::post(io, [done, r] { done(r); });
  }
};

struct Fixture {
  test::TempDir dir;
  state::StateStore store{dir.path()};
  state::AuditLog audit{store.db()};
  test::FakeClock clock;
  asio::io_context io;
  ScriptedRunner runner{io};
  std::vector<wire::RemediationRecord> events;
  remedies::Engine engine{
      io, store, audit, clock, runner, [this](const wire::RemediationRecord& r) { events.push_back(r); }, 42};

  remedies::Plan plan(const std::string& text) {
    const auto root = config::parseText(text, "plan.toml");
    return remedies::parsePlan(*root.get("remedy"), "plan.toml", "web", {clock, dir.path()});
  }
  void configure(const std::string& text, limits::PolicySettings policy = defaultPolicy()) {
    std::map<std::string, remedies::Plan> plans;
    plans["web"] = plan(text);
    engine.configure(std::move(policy), std::move(plans));
  }
  static limits::PolicySettings defaultPolicy() {
    limits::PolicySettings p;
    p.allowlist = {"/usr/bin/touch", "/bin/true", "/bin/false"};
    p.limits.cooldown = 0ms;
    return p;
  }
  void open(wire::CheckStatus status = wire::CheckStatus::Crit, uint64_t id = 1) {
    wire::IssueRecord issue;
    issue.issue_id = id;
    issue.check = "web";
    issue.state = wire::IssueState::Opened;
    issue.status = status;
    engine.onIssue(issue, "process");
  }
  /// Runs the loop until the engine has no plan in progress (or 5 s pass).
  void settle(std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    do {
      io.restart();
      io.run_for(20ms);
    } while (engine.activeRunsForTest() > 0 && std::chrono::steady_clock::now() < until);
    io.restart();
    io.run_for(50ms);  // trailing notifications
  }
  std::vector<std::string> outcomes() {
    std::vector<std::string> out;
    for (const auto& e : audit.tail(1000))
      if (e.action == "remediation")
        out.push_back(nlohmann::json::parse(e.detail)["step"].get<std::string>() + ":" + e.outcome);
    return out;
  }
};

std::string touchStep(const std::string& path, const std::string& extra = "") {
  return "[[remedy]]\naction = \"run\"\nsettle = \"0s\"\nargv = [\"/usr/bin/touch\", \"" + path + "\"]\n" + extra;
}

}  // namespace

TEST_CASE("remedy_engine: escalates until the check is healed, audited and sent as telemetry") {
  Fixture f;
  f.configure(touchStep(f.dir.file("one")) + touchStep(f.dir.file("two")) + touchStep(f.dir.file("three")));
  f.runner.statuses = {wire::CheckStatus::Crit, wire::CheckStatus::Ok};
  f.open();
  f.settle();
  CHECK(f.outcomes() == std::vector<std::string>{"run:fired", "run:executed", "run:not_healed", "run:fired",
                                                 "run:executed", "run:healed"});
  CHECK(std::filesystem::exists(f.dir.file("one")));
  CHECK(std::filesystem::exists(f.dir.file("two")));
  CHECK_FALSE(std::filesystem::exists(f.dir.file("three")));
  REQUIRE(f.events.size() == 6);
  CHECK(f.events.back().outcome == RemediationOutcome::Healed);
  CHECK(f.events[1].outcome == RemediationOutcome::Executed);
  CHECK(f.events[1].attempt_id > 0);
  CHECK(f.audit.verify().ok);
  CHECK(f.engine.limiter().breaker("web", Fixture::defaultPolicy().limits) == limits::BreakerState::Closed);
}

TEST_CASE("remedy_engine: an allowlist miss is refused and audited, and nothing runs") {
  Fixture f;
  auto policy = Fixture::defaultPolicy();
  policy.allowlist = {"/bin/true"};
  f.configure(touchStep(f.dir.file("marker")), policy);
  f.open();
  f.settle();
  CHECK_FALSE(std::filesystem::exists(f.dir.file("marker")));
  const auto tail = f.audit.tail(10);
  REQUIRE_FALSE(tail.empty());
  CHECK(tail[0].outcome == "skipped");
  CHECK(tail[0].detail.find("not on the [remediation] allowlist") != std::string::npos);
  CHECK(f.runner.runs == 0);
}

TEST_CASE("remedy_engine: dry-run decides and records but executes nothing") {
  Fixture f;
  auto policy = Fixture::defaultPolicy();
  policy.dry_run = true;
  f.configure(touchStep(f.dir.file("a")) + touchStep(f.dir.file("b")), policy);
  f.open();
  f.settle();
  CHECK_FALSE(std::filesystem::exists(f.dir.file("a")));
  CHECK_FALSE(std::filesystem::exists(f.dir.file("b")));
  CHECK(f.outcomes() ==
        std::vector<std::string>{"run:fired", "run:dry_run", "run:fired", "run:dry_run", "plan:failed"});
  CHECK(f.runner.runs == 0);
}

TEST_CASE("remedy_engine: approval-required steps wait, run once approved, and expire") {
  Fixture f;
  f.configure(touchStep(f.dir.file("approved"), "approval = true\n"));
  f.runner.statuses = {wire::CheckStatus::Ok};
  f.open();
  f.settle(300ms);  // parks awaiting approval
  CHECK_FALSE(std::filesystem::exists(f.dir.file("approved")));
  remedies::Attempts attempts(f.store.db());
  auto waiting = attempts.inState("awaiting");
  REQUIRE(waiting.size() == 1);
  CHECK(f.events.back().outcome == RemediationOutcome::AwaitingApproval);
  SUBCASE("approved") {
    CHECK_FALSE(f.engine.approve(waiting[0].id + 100, "test"));
    REQUIRE(f.engine.approve(waiting[0].id, "command:abc"));
    f.settle();
    CHECK(std::filesystem::exists(f.dir.file("approved")));
    CHECK(f.outcomes() ==
          std::vector<std::string>{"run:awaiting_approval", "run:approved", "run:fired", "run:executed", "run:healed"});
    CHECK(f.events[2].attempt_id == waiting[0].id);  // one attempt id from waiting to done
  }
  SUBCASE("expired") {
    f.clock.advance(61min);
    CHECK_FALSE(f.engine.approve(waiting[0].id, "late"));
    f.engine.start();  // the poll notices expiries
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (f.engine.activeRunsForTest() > 0 && std::chrono::steady_clock::now() < until) {
      f.io.restart();
      f.io.run_for(50ms);
    }
    CHECK_FALSE(std::filesystem::exists(f.dir.file("approved")));
    CHECK(attempts.inState("expired").size() == 1);
    CHECK(f.engine.activeRunsForTest() == 0);
    CHECK(f.outcomes() == std::vector<std::string>{"run:awaiting_approval", "run:skipped", "plan:failed"});
  }
}

TEST_CASE("remedy_engine: a step that makes things worse is rolled back, then the next step runs") {
  Fixture f;
  f.configure(touchStep(f.dir.file("step1"), "rollback = { action = \"run\", argv = [\"/usr/bin/touch\", \"" +
                                                 f.dir.file("undo1") + "\"] }\n") +
              touchStep(f.dir.file("step2")));
  f.runner.statuses = {wire::CheckStatus::Crit, wire::CheckStatus::Ok};
  f.open(wire::CheckStatus::Warn);
  f.settle();
  CHECK(std::filesystem::exists(f.dir.file("undo1")));
  CHECK(f.outcomes() == std::vector<std::string>{"run:fired", "run:executed", "run:not_healed", "run:rolled_back",
                                                 "run:fired", "run:executed", "run:healed"});
}

TEST_CASE("remedy_engine: a failing step is rolled back, exhausted plans count toward the breaker") {
  Fixture f;
  auto policy = Fixture::defaultPolicy();
  policy.limits.breaker_failures = 2;
  f.configure(
      "[[remedy]]\naction = \"run\"\nsettle = \"0s\"\nargv = [\"/bin/false\"]\n"
      "rollback = { action = \"run\", argv = [\"/usr/bin/touch\", \"" +
          f.dir.file("undo") + "\"] }\n",
      policy);
  f.open(wire::CheckStatus::Crit, 1);
  f.settle();
  CHECK(std::filesystem::exists(f.dir.file("undo")));
  CHECK(f.engine.limiter().breaker("web", policy.limits) == limits::BreakerState::Closed);
  f.open(wire::CheckStatus::Crit, 2);
  f.settle();
  CHECK(f.engine.limiter().breaker("web", policy.limits) == limits::BreakerState::Open);
  f.open(wire::CheckStatus::Crit, 3);
  f.settle();
  CHECK(f.audit.tail(1)[0].detail.find("circuit breaker open") != std::string::npos);
}

TEST_CASE("remedy_engine: the auto-remediation switch stops plans, globally or per check") {
  Fixture f;
  f.configure(touchStep(f.dir.file("x")));
  SUBCASE("per check") { limits::Policy::setAuto(f.store, "web", false); }
  SUBCASE("global") { limits::Policy::setAuto(f.store, "", false); }
  f.open();
  f.settle();
  CHECK_FALSE(std::filesystem::exists(f.dir.file("x")));
  CHECK(f.outcomes() == std::vector<std::string>{"run:skipped"});
}

TEST_CASE("remedy_strategy: Thompson sampling prefers the alternative that heals") {
  test::TempDir dir;
  state::StateStore store(dir.path());
  remedies::Strategy strategy(store.db(), 7);
  for (int i = 0; i < 20; ++i) {
    strategy.record("process", "crit", "restart", i % 10 == 0);
    strategy.record("process", "crit", "hook", i % 10 != 0);
  }
  int hook_first = 0;
  for (int i = 0; i < 100; ++i)
    if (strategy.order("process", "crit", {"restart", "hook"})[0] == 1) ++hook_first;
  CHECK(hook_first >= 95);
  const auto s = strategy.stat("process", "crit", "hook");
  CHECK(s.successes == 18);
  CHECK(s.failures == 2);
  // Untried kinds: the uniform prior gives both a chance.
  int first = 0;
  for (int i = 0; i < 200; ++i) first += strategy.order("disk", "crit", {"clean", "rotate_logs"})[0] == 0;
  CHECK(first > 50);
  CHECK(first < 150);
}

TEST_CASE("remedy_engine: a check flapping for two simulated hours gets exactly the budgeted actions") {
  Fixture f;
  f.configure(touchStep(f.dir.file("flap")));  // default budget: 10 per resource per hour
  int executed = 0, refused = 0;
  for (uint64_t i = 0; i < 200; ++i) {  // an issue every 36 s
    f.runner.statuses = {wire::CheckStatus::Ok};
    f.open(wire::CheckStatus::Crit, i + 1);
    f.settle();
    f.clock.advance(std::chrono::seconds(36));
  }
  for (const auto& e : f.events) {
    executed += e.outcome == RemediationOutcome::Executed;
    refused += e.outcome == RemediationOutcome::Skipped && e.reason == "resource budget spent";
  }
  // A full bucket of 10, then one token per 6 minutes of the 199 * 36 s that follow.
  CHECK(executed == 10 + (199 * 36) / 360);
  CHECK(executed + refused == 200);
}

TEST_CASE("remedy_engine: after a restart an open issue's plan continues after the steps already tried") {
  Fixture f;
  auto policy = Fixture::defaultPolicy();
  policy.limits.max_attempts = 2;  // executed steps per issue, persisted with the other budgets
  f.configure(
      touchStep(f.dir.file("one")) + touchStep(f.dir.file("two"), "approval = true\n") + touchStep(f.dir.file("three")),
      policy);
  f.runner.statuses = {wire::CheckStatus::Crit};
  f.open(wire::CheckStatus::Crit, 7);
  f.settle(300ms);  // step 1 ran; step 2 awaits approval
  REQUIRE(std::filesystem::exists(f.dir.file("one")));
  std::filesystem::remove(f.dir.file("one"));
  f.engine.stop();

  // The "restarted agent": a new engine on the same state.
  std::vector<wire::RemediationRecord> events;
  remedies::Engine again{
      f.io, f.store, f.audit, f.clock, f.runner, [&](const wire::RemediationRecord& r) { events.push_back(r); }, 42};
  std::map<std::string, remedies::Plan> plans;
  plans["web"] = f.plan(touchStep(f.dir.file("one")) + touchStep(f.dir.file("two"), "approval = true\n") +
                        touchStep(f.dir.file("three")));
  again.configure(policy, std::move(plans));
  wire::IssueRecord issue;
  issue.issue_id = 7;
  issue.check = "web";
  issue.state = wire::IssueState::Opened;
  issue.status = wire::CheckStatus::Crit;
  again.resumeOpen(issue, "process");
  REQUIRE(again.activeRunsForTest() == 1);  // parked again on the same approval
  const auto waiting = remedies::Attempts(f.store.db()).inState("awaiting");
  REQUIRE(waiting.size() == 1);
  REQUIRE(again.approve(waiting[0].id, "cli"));
  f.runner.statuses = {wire::CheckStatus::Crit};
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (again.activeRunsForTest() > 0 && std::chrono::steady_clock::now() < until) {
    f.io.restart();
    f.io.run_for(20ms);
  }
  CHECK_FALSE(std::filesystem::exists(f.dir.file("one")));  // step 1 is not tried twice
  CHECK(std::filesystem::exists(f.dir.file("two")));
  CHECK_FALSE(std::filesystem::exists(f.dir.file("three")));  // the persisted per-issue budget (2) is spent
  const auto rows = f.outcomes();
  CHECK(std::vector<std::string>(rows.end() - 5, rows.end()) ==
        std::vector<std::string>{"run:approved", "run:fired", "run:executed", "run:not_healed", "run:skipped"});
  CHECK(f.audit.verify().ok);
}

TEST_CASE("remedy_engine: a triggered plan runs with auto-remediation off, a second trigger is refused") {
  Fixture f;
  f.configure(touchStep(f.dir.file("one")));
  limits::Policy::setAuto(f.store, "web", false);
  f.open();
  f.settle(300ms);
  CHECK_FALSE(std::filesystem::exists(f.dir.file("one")));  // automatic: off
  wire::IssueRecord issue;
  issue.issue_id = 1;
  issue.check = "web";
  issue.state = wire::IssueState::Opened;
  issue.status = wire::CheckStatus::Crit;
  f.runner.statuses = {wire::CheckStatus::Ok};
  REQUIRE(f.engine.trigger(issue, "process", "command:n1"));
  CHECK_FALSE(f.engine.trigger(issue, "process", "command:n2"));  // one plan per check at a time
  f.settle();
  CHECK(std::filesystem::exists(f.dir.file("one")));
  CHECK(f.outcomes() ==
        std::vector<std::string>{"run:skipped", "plan:fired", "run:fired", "run:executed", "run:healed"});
  issue.check = "db";
  CHECK(f.engine.trigger(issue, "process", "command:n3").error().message.find("no remedy plan") != std::string::npos);
}
