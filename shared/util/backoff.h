#pragma once
// Exponential backoff with jitter: many agents that lost the same broker must
// not come back in lockstep (AWS "Exponential Backoff and Jitter").
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>

namespace hale {

/// `initial` doubled once per earlier attempt, never above `cap`: the delay
/// before attempt `attempt` (0-based). Backoff adds jitter to it; a delay that
/// must be reproducible (the agent's persisted crash-loop backoff) uses it as is.
inline std::chrono::milliseconds exponentialDelay(std::chrono::milliseconds initial, std::chrono::milliseconds cap,
                                                  uint64_t attempt) {
  int64_t delay = initial.count();
  for (uint64_t i = 0; i < attempt && delay < cap.count(); ++i) delay *= 2;
  return std::chrono::milliseconds(std::min(delay, cap.count()));
}

class Backoff {
 public:
  using Random = std::function<double()>;  ///< uniform in [0, 1)

  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, Random random = {})
      : initial_(initial), cap_(cap), random_(random ? std::move(random) : defaultRandom()) {}

  /// The delay before the next attempt: base doubles per attempt up to the cap,
  /// then a random point in [base/2, base] is taken ("equal jitter").
  std::chrono::milliseconds next() { return delayFor(attempt_++); }
  /// The delay before retry number `attempt` + 1 (0: the first retry), without
  /// counting it: for callers that keep the attempt count themselves (a queue row).
  std::chrono::milliseconds delayFor(uint32_t attempt) const {
    const double base = baseFor(attempt);
    const double jittered = base / 2.0 + random_() * base / 2.0;
    return std::chrono::milliseconds(static_cast<int64_t>(jittered));
  }
  void reset() { attempt_ = 0; }
  uint32_t attempts() const { return attempt_; }

 private:
  double baseFor(uint32_t attempt) const {
    return static_cast<double>(exponentialDelay(initial_, cap_, attempt).count());
  }
  static Random defaultRandom() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }

  std::chrono::milliseconds initial_;
  std::chrono::milliseconds cap_;
  Random random_;
  uint32_t attempt_ = 0;
};

}  // namespace hale
