#include "aggregator/api/context.h"

namespace hale::aggregator::api {
namespace {
constexpr double kWritesPerSecond = 5;
constexpr double kWriteBurst = 20;
}  // namespace

ApiContext::ApiContext(storage::Store& store_in, const ingest::Counters& counters_in, ReadyFn ready_in,
                       ApiOptions options_in)
    : store(store_in), counters(counters_in), ready(std::move(ready_in)), options(std::move(options_in)),
      clock(*options.clock), write_limit(kWritesPerSecond, kWriteBurst, clock) {}

std::shared_ptr<const health::ScoredFleet> ApiContext::currentHealth(int64_t now_ms) {
  if (options.score_cache)
    if (auto cached = options.score_cache->latest(now_ms, options.score_max_age)) return cached;
  const auto inputs = store.healthInputs().read(now_ms - options.health.result_stale_after_ms);
  return std::make_shared<const health::ScoredFleet>(health::computeHealth(inputs, now_ms, options.health));
}

}  // namespace hale::aggregator::api
