#pragma once
// Time is injected so that limiters, hysteresis and backoff are tested with a
// fake clock instead of sleeps (Envoy's TimeSource pattern).
#include <chrono>
#include <cstdint>

namespace hale {

using SystemTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime wallNow() const = 0;  ///< for timestamps people read
  virtual MonoTime monoNow() const = 0;    ///< for intervals and deadlines
};

class RealClock final : public Clock {
 public:
  SystemTime wallNow() const override { return std::chrono::system_clock::now(); }
  MonoTime monoNow() const override { return std::chrono::steady_clock::now(); }
  static RealClock& instance() {
    static RealClock clock;
    return clock;
  }
};

inline int64_t toUnixMillis(SystemTime t) { return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count(); }
inline int64_t unixMillisNow() { return toUnixMillis(std::chrono::system_clock::now()); }

}  // namespace hale
