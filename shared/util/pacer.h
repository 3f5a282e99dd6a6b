#pragma once
// An in-memory token bucket for pacing: at most `rate` events per second with
// bursts of `burst`. The agent paces telemetry with it so a fleet that comes
// back after an outage replays its backlogs without flooding the aggregator.
#include "shared/util/clock.h"

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace hale {

class Pacer {
 public:
  Pacer(double rate_per_s, double burst, const Clock& clock)
      : rate_(rate_per_s), burst_(burst), tokens_(burst), last_(clock.monoNow()), clock_(clock) {}

  /// Takes up to `wanted` tokens; returns how many were granted.
  size_t take(size_t wanted) {
    refill();
    const auto granted = static_cast<size_t>(std::min<double>(static_cast<double>(wanted), tokens_));
    tokens_ -= static_cast<double>(granted);
    return granted;
  }

  /// How long until at least one token is available.
  std::chrono::milliseconds untilNext() {
    refill();
    if (tokens_ >= 1.0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(static_cast<int64_t>((1.0 - tokens_) / rate_ * 1000.0) + 1);
  }

 private:
  void refill() {
    const auto now = clock_.monoNow();
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }

  double rate_;
  double burst_;
  double tokens_;
  MonoTime last_;
  const Clock& clock_;
};

}  // namespace hale
