#include "agent/platform/kernel_clock.h"

#include <fmt/format.h>
#include <sys/timex.h>

#include <cerrno>
#include <cstring>

namespace hale::agent::platform {
namespace {

class AdjtimexClock final : public KernelClock {
 public:
  Result<KernelClockState> read() const override {
    struct timex tx {};
    tx.modes = 0;  // read only
    const int state = ::adjtimex(&tx);
    if (state < 0) return makeError(fmt::format("adjtimex: {}", std::strerror(errno)), errno);
    KernelClockState s;
    s.status_bits = tx.status;
    s.synchronized = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
    // offset is in microseconds, or nanoseconds once a daemon set STA_NANO.
    s.offset_s = static_cast<double>(tx.offset) / ((tx.status & STA_NANO) ? 1e9 : 1e6);
    s.max_error_s = static_cast<double>(tx.maxerror) / 1e6;
    s.est_error_s = static_cast<double>(tx.esterror) / 1e6;
    s.leap_pending = state == TIME_INS || state == TIME_DEL;
    return s;
  }
};

}  // namespace

const KernelClock& realKernelClock() {
  static const AdjtimexClock clock;
  return clock;
}

}  // namespace hale::agent::platform
