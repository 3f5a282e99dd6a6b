#pragma once
// The kernel's view of clock discipline, from adjtimex(2) (ntp_adjtime with
// no modes: a read that needs no privilege). An NTP daemon (chronyd, ntpd,
// systemd-timesyncd) that steers the clock keeps STA_UNSYNC clear and updates
// the error estimates; when none does, the kernel raises maxerror by 500 ppm
// and sets STA_UNSYNC once it passes 16 s.
#include "shared/util/result.h"

namespace hale::agent::platform {

struct KernelClockState {
  bool synchronized = false;  ///< STA_UNSYNC clear and the call did not return TIME_ERROR
  double offset_s = 0;        ///< the phase adjustment still to apply (timex.offset)
  double max_error_s = 0;     ///< bound on the clock's error (timex.maxerror)
  double est_error_s = 0;     ///< estimated error (timex.esterror)
  bool leap_pending = false;  ///< a leap second is announced (TIME_INS / TIME_DEL)
  int status_bits = 0;        ///< timex.status, for people who know them
};

class KernelClock {
 public:
  virtual ~KernelClock() = default;
  virtual Result<KernelClockState> read() const = 0;
};

/// adjtimex(2).
const KernelClock& realKernelClock();

}  // namespace hale::agent::platform
