// time_sync: whether the kernel clock is disciplined by an NTP daemon and how
// far off it may be, from adjtimex(2). Signed commands carry an expiry and the
// aggregator judges liveness and health from timestamps: a node whose clock
// drifts refuses valid commands or accepts stale ones, and looks dead or alive
// when it is not.
//
//   [[check]]
//   name = "clock"
//   kind = "time_sync"
//   warn_offset = "100ms"
//   crit_offset = "1s"
//   require_sync = true
//
// The value graded is the larger of the kernel's remaining phase offset and its
// estimated error: chronyd steers the frequency itself and leaves the offset
// at 0, reporting its estimate in esterror instead.
#include "agent/checks/check.h"
#include "agent/platform/kernel_clock.h"

#include <fmt/format.h>

#include <cmath>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"warn_offset", config::FieldType::Duration, "100ms", "offset (or estimated error) that warns"},
    {"crit_offset", config::FieldType::Duration, "1s", "offset (or estimated error) that is critical"},
    {"require_sync", config::FieldType::Bool, "true",
     "an unsynchronised clock (STA_UNSYNC: no NTP daemon steering it) is critical; false: a warning"},
};

std::string humanSeconds(double s) {
  const double mag = std::abs(s);
  if (mag >= 1) return fmt::format("{:.3f} s", s);
  if (mag >= 1e-3) return fmt::format("{:.1f} ms", s * 1e3);
  return fmt::format("{:.0f} µs", s * 1e6);
}

class TimeSyncCheck final : public Check {
 public:
  TimeSyncCheck(CommonSettings common, const config::Fields& f, const platform::KernelClock& kernel)
      : Check(std::move(common)), kernel_(kernel), warn_(f.duration("warn_offset")), crit_(f.duration("crit_offset")),
        require_sync_(f.boolean("require_sync")) {
    if (warn_.count() <= 0) f.fail("warn_offset", "must be positive");
    if (warn_ > crit_)
      f.fail("warn_offset", fmt::format("must not exceed crit_offset ({})", config::formatDuration(crit_)));
  }

  Outcome run() override {
    auto state = kernel_.read();
    if (!state) return Outcome{CheckStatus::Unknown, state.error().message, {}};
    const auto& s = *state;
    const double judged = std::max(std::abs(s.offset_s), s.est_error_s);
    Outcome out;
    out.metric("synchronized", s.synchronized ? 1 : 0)
        .metric("offset_seconds", s.offset_s)
        .metric("est_error_seconds", s.est_error_s)
        .metric("max_error_seconds", s.max_error_s);
    out.message = fmt::format("clock {}: offset {}, estimated error {}, max error {}",
                              s.synchronized ? "synchronised" : "not synchronised (no NTP daemon steering it)",
                              humanSeconds(s.offset_s), humanSeconds(s.est_error_s), humanSeconds(s.max_error_s));
    if (s.synchronized) {
      out.status = grade(judged, toSeconds(warn_), toSeconds(crit_));
    } else {
      out.status = require_sync_ ? CheckStatus::Crit : CheckStatus::Warn;
    }
    if (s.leap_pending) out.message += ", leap second announced";
    return out;
  }

 private:
  static double toSeconds(Millis d) { return std::chrono::duration<double>(d).count(); }

  const platform::KernelClock& kernel_;
  Millis warn_, crit_;
  bool require_sync_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv&) {
  return std::make_unique<TimeSyncCheck>(std::move(common), fields, platform::realKernelClock());
}

}  // namespace

/// For tests: a time_sync check reading a fake kernel clock.
CheckPtr makeTimeSyncCheckForTest(CommonSettings common, const config::Fields& fields,
                                  const platform::KernelClock& kernel) {
  return std::make_unique<TimeSyncCheck>(std::move(common), fields, kernel);
}

extern const CheckKind kTimeSyncCheck;
const CheckKind kTimeSyncCheck{"time_sync", "clock synchronisation state, offset and error bounds (adjtimex)", kFields,
                               Component::Compute, &make};

}  // namespace hale::agent::checks
