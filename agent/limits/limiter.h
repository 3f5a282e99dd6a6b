#pragma once
// The limits every remediation passes before it acts: token buckets per
// resource and global, a cooldown per step, a maximum of attempts per issue
// and a circuit breaker per check; plus the crash-loop restart backoff. All
// read time from an injected Clock (wall time, because the state outlives the
// process) and persist through LimitStore, so restarts never reset a budget.
// Monit #546/#787 are the counter-example: counters that never reset, or that
// reset on every restart, give restart storms.
#include "agent/limits/limit_store.h"
#include "shared/util/clock.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace hale::agent::limits {

struct LimitSettings {
  int64_t resource_per_hour = 10;            ///< actions on one resource (a check's target) per hour
  int64_t global_per_hour = 100;             ///< actions on the whole node per hour
  Millis cooldown{std::chrono::minutes(5)};  ///< between two runs of the same step
  int64_t max_attempts = 5;                  ///< executed steps per issue
  int64_t breaker_failures = 3;              ///< failed remediations in the window that open the breaker
  Millis breaker_window{std::chrono::hours(1)};
  Millis breaker_open_for{std::chrono::minutes(30)};  ///< then one half-open probe
  Millis backoff_initial{std::chrono::seconds(1)};    ///< crash-loop restart delay
  Millis backoff_cap{std::chrono::minutes(5)};
  Millis backoff_reset_after{std::chrono::minutes(10)};  ///< uptime that counts as stable
};

/// A bucket holding up to `per_hour` tokens, refilled one token per
/// (1h / per_hour), in whole tokens and integer milliseconds so a long run
/// grants exactly the budget, never one more through rounding.
class TokenBucket {
 public:
  TokenBucket(LimitStore& store, const Clock& clock, std::string key, int64_t per_hour);
  /// Current whole tokens after refill.
  int64_t available();
  bool tryTake();
  void take();

 private:
  nlohmann::json refilled();
  LimitStore& store_;
  const Clock& clock_;
  std::string key_;
  int64_t per_hour_;
};

enum class BreakerState { Closed, Open, HalfOpen };
std::string_view breakerStateName(BreakerState s);

/// Per check: `failures` failed remediations within `window` open it; after
/// `open_for` one probe is let through (half-open): success closes it, failure
/// opens it again.
class CircuitBreaker {
 public:
  CircuitBreaker(LimitStore& store, const Clock& clock, std::string check, const LimitSettings& s);
  BreakerState state();
  /// True when a remediation may start now; in half-open it admits one probe.
  bool allow();
  /// Records the end of a remediation; returns true when this failure opened the breaker.
  bool record(bool healed);

 private:
  LimitStore& store_;
  const Clock& clock_;
  std::string key_;
  LimitSettings s_;
};

/// Crash-loop backoff for one supervised target: the delay doubles per exit up
/// to the cap and starts over once the process stayed up `reset_after`.
class RestartBackoff {
 public:
  RestartBackoff(LimitStore& store, std::string target, const LimitSettings& s);
  /// Called at an exit after `uptime`; returns how long to wait before restarting.
  Millis onExit(Millis uptime);
  int64_t attempts();

 private:
  LimitStore& store_;
  std::string key_;
  LimitSettings s_;
};

struct Admission {
  bool allowed = false;
  std::string reason;         ///< why not: "breaker open", "cooldown", "budget", ...
  bool budget_spent = false;  ///< a bucket, the attempts or the breaker said no: worth a notification
};

/// The facade the engine uses for one step.
class Limiter {
 public:
  Limiter(sqlite::Database& db, const Clock& clock);

  /// Checks breaker, attempts, cooldown and both buckets; takes tokens, counts
  /// the attempt and starts the cooldown only when everything allows it.
  Admission admit(const std::string& check, const std::string& resource, const std::string& step_key, uint64_t issue_id,
                  const LimitSettings& s);
  /// The end of a remediation of `check`; true when the breaker just opened.
  bool finished(const std::string& check, bool healed, const LimitSettings& s);
  BreakerState breaker(const std::string& check, const LimitSettings& s);
  RestartBackoff backoff(const std::string& target, const LimitSettings& s) { return {store_, target, s}; }
  LimitStore& store() { return store_; }
  const Clock& clock() const { return clock_; }

 private:
  int64_t nowMs() const { return toUnixMillis(clock_.wallNow()); }
  sqlite::Database& db_;
  LimitStore store_;
  const Clock& clock_;
};

}  // namespace hale::agent::limits
