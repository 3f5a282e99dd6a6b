#pragma once
// Fleet scores computed off the request path. Scoring 10,000 nodes takes tens
// of milliseconds; doing it per request put every read of /api/v1/nodes and
// /fleet/health behind that cost on the single I/O thread. A worker thread
// with its own SQLite connection (WAL lets it read while ingest writes)
// rescores every `refresh` and publishes an immutable snapshot; readers take
// the latest with one lock and a shared_ptr copy.
#include "aggregator/health/health.h"
#include "shared/util/clock.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace hale::aggregator::health {

/// One scoring of the fleet plus a by-node index into it.
struct ScoredFleet {
  explicit ScoredFleet(FleetHealth h);
  ScoredFleet(const ScoredFleet&) = delete;
  ScoredFleet& operator=(const ScoredFleet&) = delete;

  const NodeHealth* node(const std::string& id) const;

  FleetHealth health;

 private:
  std::unordered_map<std::string_view, const NodeHealth*> by_node_;
};

class ScoreCache {
 public:
  /// `score(now_ms)` runs on the worker thread only, so it may own a database connection.
  using Scorer = std::function<FleetHealth(int64_t now_ms)>;

  ScoreCache(Scorer score, std::chrono::milliseconds refresh, const Clock& clock = RealClock::instance());
  ~ScoreCache();
  ScoreCache(const ScoreCache&) = delete;
  ScoreCache& operator=(const ScoreCache&) = delete;

  /// Starts the worker thread, which rescores every `refresh`.
  void start();
  /// One scoring on the calling thread (the worker's step; tests call it directly).
  void refreshNow();

  /// The latest scoring, or null before the first one finished or when it is
  /// older than `max_age` (the worker is stuck): callers then score inline.
  std::shared_ptr<const ScoredFleet> latest(int64_t now_ms, std::chrono::milliseconds max_age) const;

  uint64_t refreshes() const;
  uint64_t failures() const;

 private:
  void loop(std::stop_token stop);

  Scorer score_;
  std::chrono::milliseconds refresh_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::shared_ptr<const ScoredFleet> latest_;
  uint64_t refreshes_ = 0, failures_ = 0;
  std::jthread worker_;
};

}  // namespace hale::aggregator::health
