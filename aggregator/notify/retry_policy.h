#pragma once
// When a failed delivery is tried again: exponential backoff with jitter
// (shared/util/backoff.h) between the target's retry_initial and retry_cap,
// giving up after max_attempts.
#include "aggregator/notify/notify_config.h"
#include "shared/util/backoff.h"

#include <chrono>
#include <optional>

namespace hale::aggregator::notify {

class RetryPolicy {
 public:
  /// `random` is uniform in [0, 1) (tests pass a fixed one); unset: a seeded generator.
  explicit RetryPolicy(Backoff::Random random = {});

  /// The delay before the next try after `attempts` failed ones; nullopt: give up.
  std::optional<std::chrono::milliseconds> nextDelay(const Target& target, int attempts) const;

 private:
  Backoff::Random random_;
};

}  // namespace hale::aggregator::notify
