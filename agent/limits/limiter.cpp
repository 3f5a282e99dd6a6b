#include "agent/limits/limiter.h"

#include "shared/util/backoff.h"

#include <algorithm>

namespace hale::agent::limits {
namespace {
constexpr int64_t kHourMs = 3'600'000;

int64_t msOf(const Clock& clock) { return toUnixMillis(clock.wallNow()); }
}  // namespace

TokenBucket::TokenBucket(LimitStore& store, const Clock& clock, std::string key, int64_t per_hour)
    : store_(store), clock_(clock), key_(std::move(key)), per_hour_(std::max<int64_t>(per_hour, 0)) {}

nlohmann::json TokenBucket::refilled() {
  const int64_t now = msOf(clock_);
  auto st = store_.get(key_);
  if (!st.contains("tokens")) return {{"tokens", per_hour_}, {"last_ms", now}};
  int64_t tokens = st["tokens"].get<int64_t>();
  int64_t last = st["last_ms"].get<int64_t>();
  if (per_hour_ == 0) return {{"tokens", 0}, {"last_ms", now}};
  const int64_t period = std::max<int64_t>(kHourMs / per_hour_, 1);
  // The wall clock may step back (NTP): never refill from the future.
  if (now < last) last = now;
  if (tokens >= per_hour_) {
    tokens = per_hour_;
    last = now;  // a full bucket accrues nothing
  } else {
    const int64_t n = (now - last) / period;
    tokens = std::min(per_hour_, tokens + n);
    last = tokens >= per_hour_ ? now : last + n * period;
  }
  return {{"tokens", tokens}, {"last_ms", last}};
}

int64_t TokenBucket::available() { return refilled()["tokens"].get<int64_t>(); }

bool TokenBucket::tryTake() {
  auto st = refilled();
  if (st["tokens"].get<int64_t>() < 1) {
    store_.put(key_, st);
    return false;
  }
  st["tokens"] = st["tokens"].get<int64_t>() - 1;
  store_.put(key_, st);
  return true;
}

void TokenBucket::take() { (void)tryTake(); }

std::string_view breakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::Closed:
      return "closed";
    case BreakerState::Open:
      return "open";
    case BreakerState::HalfOpen:
      return "half-open";
  }
  return "?";
}

CircuitBreaker::CircuitBreaker(LimitStore& store, const Clock& clock, std::string check, const LimitSettings& s)
    : store_(store), clock_(clock), key_("breaker:" + std::move(check)), s_(s) {}

BreakerState CircuitBreaker::state() {
  const auto st = store_.get(key_);
  const std::string state = st.value("state", "closed");
  if (state == "closed") return BreakerState::Closed;
  if (state == "open" && msOf(clock_) - st.value("opened_ms", int64_t{0}) < s_.breaker_open_for.count())
    return BreakerState::Open;
  return BreakerState::HalfOpen;
}

bool CircuitBreaker::allow() {
  auto st = store_.get(key_);
  switch (state()) {
    case BreakerState::Closed:
      return true;
    case BreakerState::Open:
      return false;
    case BreakerState::HalfOpen:
      if (st.value("state", "") == "half_open" && st.value("probing", false)) return false;
      st["state"] = "half_open";
      st["probing"] = true;
      store_.put(key_, st);
      return true;
  }
  return false;
}

bool CircuitBreaker::record(bool healed) {
  const int64_t now = msOf(clock_);
  auto st = store_.get(key_);
  if (healed) {
    // A heal closes an open or half-open breaker. In the closed state it does
    // not wipe the window: heal, crash, heal, crash... is still K failures.
    if (st.value("state", "closed") != "closed")
      store_.put(key_, {{"state", "closed"}, {"failures", nlohmann::json::array()}});
    return false;
  }
  if (st.value("state", "closed") != "closed") {
    // A failed half-open probe: open again for a full period, no second alert.
    store_.put(key_, {{"state", "open"}, {"opened_ms", now}, {"failures", nlohmann::json::array()}});
    return false;
  }
  std::vector<int64_t> failures;
  if (st.contains("failures"))
    for (const auto& f : st["failures"])
      if (now - f.get<int64_t>() < s_.breaker_window.count()) failures.push_back(f.get<int64_t>());
  failures.push_back(now);
  if (static_cast<int64_t>(failures.size()) >= s_.breaker_failures) {
    store_.put(key_, {{"state", "open"}, {"opened_ms", now}, {"failures", nlohmann::json::array()}});
    return true;
  }
  store_.put(key_, {{"state", "closed"}, {"failures", failures}});
  return false;
}

RestartBackoff::RestartBackoff(LimitStore& store, std::string target, const LimitSettings& s)
    : store_(store), key_("backoff:" + std::move(target)), s_(s) {}

int64_t RestartBackoff::attempts() { return store_.get(key_).value("attempts", int64_t{0}); }

Millis RestartBackoff::onExit(Millis uptime) {
  int64_t n = attempts();
  if (uptime >= s_.backoff_reset_after) n = 0;
  const Millis delay =
      exponentialDelay(s_.backoff_initial, s_.backoff_cap, static_cast<uint64_t>(std::max<int64_t>(n, 0)));
  store_.put(key_, {{"attempts", n + 1}});
  return delay;
}

Limiter::Limiter(sqlite::Database& db, const Clock& clock) : db_(db), store_(db), clock_(clock) {}

Admission Limiter::admit(const std::string& check, const std::string& resource, const std::string& step_key,
                         uint64_t issue_id, const LimitSettings& s) {
  const int64_t now = nowMs();
  // One transaction: the decision and the tokens it takes are never half-written.
  sqlite::Transaction tx(db_);
  CircuitBreaker breaker(store_, clock_, check, s);
  if (breaker.state() == BreakerState::Open) return {false, "circuit breaker open", true};
  const std::string attempts_key = "attempts:" + std::to_string(issue_id);
  const int64_t attempts = store_.get(attempts_key).value("n", int64_t{0});
  if (attempts >= s.max_attempts) return {false, "max attempts per issue reached", true};
  const std::string cooldown_key = "cooldown:" + step_key;
  const int64_t last = store_.get(cooldown_key).value("last_ms", int64_t{-1});
  if (last >= 0 && now >= last && now - last < s.cooldown.count()) return {false, "step in cooldown", false};
  TokenBucket per_resource(store_, clock_, "bucket:" + resource, s.resource_per_hour);
  TokenBucket global(store_, clock_, "bucket:global", s.global_per_hour);
  if (per_resource.available() < 1) return {false, "resource budget spent", true};
  if (global.available() < 1) return {false, "global budget spent", true};
  if (!breaker.allow()) return {false, "circuit breaker half-open, probe in flight", false};
  // Refusals above leave no trace; bucket refills are recomputed on the next call.
  per_resource.take();
  global.take();
  store_.put(attempts_key, {{"n", attempts + 1}});
  store_.put(cooldown_key, {{"last_ms", now}});
  tx.commit();
  return {true, "", false};
}

bool Limiter::finished(const std::string& check, bool healed, const LimitSettings& s) {
  return CircuitBreaker(store_, clock_, check, s).record(healed);
}

BreakerState Limiter::breaker(const std::string& check, const LimitSettings& s) {
  return CircuitBreaker(store_, clock_, check, s).state();
}

}  // namespace hale::agent::limits
