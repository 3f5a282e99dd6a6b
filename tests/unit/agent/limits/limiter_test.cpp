#include "agent/limits/limiter.h"
#include "agent/state/state_store.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;

namespace {
limits::LimitSettings noCooldown() {
  limits::LimitSettings s;
  s.cooldown = 0ms;
  s.max_attempts = 1'000'000;
  s.breaker_failures = 1'000'000;
  return s;
}
}  // namespace

TEST_CASE("remedy_limits: a check flapping for ten simulated hours gets exactly the budget") {
  test::TempDir dir;
  state::StateStore store(dir.path());
  test::FakeClock clock;
  limits::Limiter limiter(store.db(), clock);
  const auto s = noCooldown();  // 10 per resource per hour, 100 global
  int actions = 0;
  // An issue every 5 s for 10 h: 7200 requests.
  for (int i = 0; i < 7200; ++i) {
    if (limiter.admit("web", "web", "web#0", static_cast<uint64_t>(i + 1), s).allowed) ++actions;
    clock.advance(5s);
  }
  // A full bucket of 10, then one token per 6 minutes: 10 + 10 * 10 h, minus
  // the last refill that lands exactly when the loop ends.
  CHECK(actions == 10 + 99);
}

TEST_CASE("remedy_limits: the global bucket caps the sum over resources") {
  test::TempDir dir;
  state::StateStore store(dir.path());
  test::FakeClock clock;
  limits::Limiter limiter(store.db(), clock);
  auto s = noCooldown();
  s.global_per_hour = 25;
  int actions = 0;
  for (int r = 0; r < 10; ++r)
    for (int i = 0; i < 10; ++i)
      if (limiter.admit("c" + std::to_string(r), "res" + std::to_string(r), "k", uint64_t(r * 100 + i), s).allowed)
        ++actions;
  CHECK(actions == 25);
  const auto refused = limiter.admit("x", "resx", "k", 9999, s);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.reason == "global budget spent");
  CHECK(refused.budget_spent);
}

TEST_CASE("remedy_limits: budgets, cooldowns, attempts and breakers survive an agent restart") {
  test::TempDir dir;
  test::FakeClock clock;
  limits::LimitSettings s;
  s.cooldown = 10min;
  s.max_attempts = 3;
  {
    state::StateStore store(dir.path());
    limits::Limiter limiter(store.db(), clock);
    for (int i = 0; i < 10; ++i) CHECK(limiter.admit("web", "web", "web#" + std::to_string(i), 1000 + i, s).allowed);
    CHECK(limiter.admit("db", "db", "db#0", 7, s).allowed);
    for (int i = 0; i < 3; ++i) (void)limiter.finished("cron", false, s);
  }
  state::StateStore store(dir.path());
  limits::Limiter limiter(store.db(), clock);
  CHECK(limiter.admit("web", "web", "web#new", 2000, s).reason == "resource budget spent");
  CHECK(limiter.admit("db", "db", "db#0", 8, s).reason == "step in cooldown");
  CHECK(limiter.breaker("cron", s) == limits::BreakerState::Open);
  SUBCASE("max attempts per issue") {
    CHECK(limiter.admit("db", "db", "db#1", 7, s).allowed);
    CHECK(limiter.admit("db", "db", "db#2", 7, s).allowed);
    const auto a = limiter.admit("db", "db", "db#3", 7, s);
    CHECK_FALSE(a.allowed);
    CHECK(a.reason == "max attempts per issue reached");
  }
  SUBCASE("cooldown ends") {
    clock.advance(10min);
    CHECK(limiter.admit("db", "db", "db#0", 8, s).allowed);
  }
}

TEST_CASE("remedy_limits: breaker opens after K failures in the window, half-opens, closes on success") {
  test::TempDir dir;
  state::StateStore store(dir.path());
  test::FakeClock clock;
  limits::Limiter limiter(store.db(), clock);
  auto s = noCooldown();
  s.breaker_failures = 3;
  s.breaker_window = 1h;
  s.breaker_open_for = 30min;
  CHECK_FALSE(limiter.finished("web", false, s));
  clock.advance(2h);  // the first failure leaves the window
  CHECK_FALSE(limiter.finished("web", false, s));
  CHECK_FALSE(limiter.finished("web", false, s));
  CHECK(limiter.breaker("web", s) == limits::BreakerState::Closed);
  CHECK(limiter.finished("web", false, s));  // third in the window: opens, alert once
  CHECK(limiter.breaker("web", s) == limits::BreakerState::Open);
  CHECK(limiter.admit("web", "web", "k", 1, s).reason == "circuit breaker open");
  clock.advance(30min);
  CHECK(limiter.breaker("web", s) == limits::BreakerState::HalfOpen);
  CHECK(limiter.admit("web", "web", "k", 2, s).allowed);  // the probe
  CHECK_FALSE(limiter.admit("web", "web", "k", 3, s).allowed);
  SUBCASE("failed probe opens again without a second alert") {
    CHECK_FALSE(limiter.finished("web", false, s));
    CHECK(limiter.breaker("web", s) == limits::BreakerState::Open);
  }
  SUBCASE("healed probe closes") {
    CHECK_FALSE(limiter.finished("web", true, s));
    CHECK(limiter.breaker("web", s) == limits::BreakerState::Closed);
    CHECK(limiter.admit("web", "web", "k", 4, s).allowed);
  }
}

TEST_CASE("remedy_limits: crash-loop backoff doubles to the cap and resets after a stable run") {
  test::TempDir dir;
  state::StateStore store(dir.path());
  test::FakeClock clock;
  limits::Limiter limiter(store.db(), clock);
  limits::LimitSettings s;
  s.backoff_initial = 100ms;
  s.backoff_cap = 1s;
  s.backoff_reset_after = 30s;
  auto b = limiter.backoff("web", s);
  std::vector<int64_t> delays;
  for (int i = 0; i < 6; ++i) delays.push_back(b.onExit(50ms).count());
  CHECK(delays == std::vector<int64_t>{100, 200, 400, 800, 1000, 1000});
  CHECK(limiter.backoff("web", s).onExit(1s).count() == 1000);  // persisted: a new object continues
  CHECK(b.onExit(31s).count() == 100);                          // stable run: starts over
  CHECK(b.onExit(10ms).count() == 200);
}
