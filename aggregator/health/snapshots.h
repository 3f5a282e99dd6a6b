#pragma once
// Once a minute (configurable) the aggregator scores the fleet, stores one
// snapshot row per region and one for the fleet, and applies retention: raw
// check results go after `retention_raw`, snapshots after the longer
// `retention_snapshots`, so 24 h and 7 d trends outlive the raw data.
#include "aggregator/health/health.h"
#include "aggregator/storage/store.h"

#include <atomic>
#include <chrono>
#include <vector>

namespace hale::aggregator::health {

struct SnapshotSettings {
  std::chrono::milliseconds interval = std::chrono::minutes(1);
  std::chrono::milliseconds retention_raw = std::chrono::hours(24 * 7);
  std::chrono::milliseconds retention_snapshots = std::chrono::hours(24 * 90);
};

struct SnapshotCounters {
  std::atomic<uint64_t> snapshots{0};       ///< ticks that stored a snapshot
  std::atomic<uint64_t> pruned_results{0};  ///< raw check results deleted by retention
  std::atomic<uint64_t> pruned_snapshots{0};
  std::atomic<uint64_t> errors{0};
};

/// The rows one snapshot stores: the fleet (region "") and each region. Empty for an empty fleet.
std::vector<storage::SnapshotRow> snapshotRows(const FleetHealth& health);

/// Scores the fleet at `now_ms`, stores the snapshot and prunes what retention allows.
void takeSnapshot(storage::Store& store, const Params& params, const SnapshotSettings& settings, int64_t now_ms,
                  SnapshotCounters& counters);

}  // namespace hale::aggregator::health
