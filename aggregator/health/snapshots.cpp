#include "aggregator/health/snapshots.h"

namespace hale::aggregator::health {
namespace {
storage::SnapshotRow rowOf(const GroupHealth& g) {
  storage::SnapshotRow row;
  row.region = g.name;
  row.score = g.score.value_or(0);
  for (size_t c = 0; c < kComponents; ++c) row.components[c] = g.components[c].value_or(0);
  row.nodes = g.counts.nodes;
  row.online = g.counts.online;
  row.open_crit = g.counts.open_crit;
  row.open_warn = g.counts.open_warn;
  return row;
}
}  // namespace

std::vector<storage::SnapshotRow> snapshotRows(const FleetHealth& health) {
  std::vector<storage::SnapshotRow> rows;
  // An empty fleet has no score; storing 0 would draw a false outage in the trend.
  if (!health.fleet.score) return rows;
  rows.push_back(rowOf(health.fleet));
  for (const auto& r : health.regions) rows.push_back(rowOf(r));
  return rows;
}

void takeSnapshot(storage::Store& store, const Params& params, const SnapshotSettings& settings, int64_t now_ms,
                  SnapshotCounters& counters) {
  const auto inputs = store.healthInputs().read(now_ms - params.result_stale_after_ms);
  const auto rows = snapshotRows(computeHealth(inputs, now_ms, params));
  if (!rows.empty()) {
    store.snapshots().insert(now_ms, rows);
    ++counters.snapshots;
  }
  counters.pruned_results += store.results().prune(now_ms - settings.retention_raw.count());
  counters.pruned_snapshots += store.snapshots().prune(now_ms - settings.retention_snapshots.count());
}

}  // namespace hale::aggregator::health
