#include "aggregator/health/score_cache.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"

namespace hale::aggregator::health {

ScoredFleet::ScoredFleet(FleetHealth h) : health(std::move(h)) {
  by_node_.reserve(health.nodes.size());
  for (const auto& n : health.nodes) by_node_.emplace(n.node, &n);
}

const NodeHealth* ScoredFleet::node(const std::string& id) const {
  auto it = by_node_.find(id);
  return it == by_node_.end() ? nullptr : it->second;
}

ScoreCache::ScoreCache(Scorer score, std::chrono::milliseconds refresh, const Clock& clock)
    : score_(std::move(score)), refresh_(refresh), clock_(clock) {}

ScoreCache::~ScoreCache() {
  worker_.request_stop();
  wake_.notify_all();
}

void ScoreCache::start() {
  if (!worker_.joinable()) worker_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

std::shared_ptr<const ScoredFleet> ScoreCache::latest(int64_t now_ms, std::chrono::milliseconds max_age) const {
  std::lock_guard lock(mutex_);
  if (!latest_ || now_ms - latest_->health.computed_at_ms > max_age.count()) return nullptr;
  return latest_;
}

uint64_t ScoreCache::refreshes() const {
  std::lock_guard lock(mutex_);
  return refreshes_;
}

uint64_t ScoreCache::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void ScoreCache::refreshNow() {
  try {
    auto scored = std::make_shared<const ScoredFleet>(score_(toUnixMillis(clock_.wallNow())));
    std::lock_guard lock(mutex_);
    latest_ = std::move(scored);
    ++refreshes_;
  } catch (const std::exception& e) {
    // A locked or busy database skips one refresh; readers fall back to scoring inline.
    std::lock_guard lock(mutex_);
    if (++failures_ == 1 || failures_ % 100 == 0)
      log::warn("health", "cannot rescore the fleet", {{"error", e.what()}});
  }
}

void ScoreCache::loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    refreshNow();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, stop, refresh_, [] { return false; });
  }
}

}  // namespace hale::aggregator::health
