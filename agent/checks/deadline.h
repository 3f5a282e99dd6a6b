#pragma once
// The deadline a blocking check gives its own I/O: a little inside the check's
// timeout, so the check reports what it was waiting for ("TLS handshake timed
// out") before the scheduler gives up on it with a generic timeout.
#include "agent/checks/check.h"

#include <algorithm>
#include <chrono>

namespace hale::agent::checks {

inline std::chrono::steady_clock::time_point ownDeadline(const CommonSettings& common,
                                                         std::chrono::steady_clock::time_point start) {
  const auto margin = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(50), common.timeout / 10);
  return start + common.timeout - margin;
}

}  // namespace hale::agent::checks
