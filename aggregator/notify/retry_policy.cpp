#include "aggregator/notify/retry_policy.h"

#include <random>

namespace hale::aggregator::notify {

RetryPolicy::RetryPolicy(Backoff::Random random) : random_(std::move(random)) {
  if (random_) return;
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  random_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

std::optional<std::chrono::milliseconds> RetryPolicy::nextDelay(const Target& target, int attempts) const {
  if (attempts >= target.max_attempts) return std::nullopt;
  // The first retry waits about retry_initial; each one after doubles it, up to retry_cap.
  const Backoff backoff(target.retry_initial, target.retry_cap, random_);
  return backoff.delayFor(static_cast<uint32_t>(attempts > 0 ? attempts - 1 : 0));
}

}  // namespace hale::aggregator::notify
