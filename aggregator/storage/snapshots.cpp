#include "aggregator/storage/snapshots.h"

namespace hale::aggregator::storage {

SnapshotRepository::SnapshotRepository(Connection& conn)
    : conn_(conn),
      insert_(conn.prepare(
          "INSERT INTO health_snapshots(region, taken_at_ms, score, compute, storage, network, security, builds, "
          "nodes, online, open_crit, open_warn) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
          "ON CONFLICT(region, taken_at_ms) DO UPDATE SET score = excluded.score, compute = excluded.compute, "
          "storage = excluded.storage, network = excluded.network, security = excluded.security, "
          "builds = excluded.builds, nodes = excluded.nodes, online = excluded.online, "
          "open_crit = excluded.open_crit, open_warn = excluded.open_warn")),
      prune_(conn.prepare("DELETE FROM health_snapshots WHERE taken_at_ms < $1")) {}

void SnapshotRepository::insert(int64_t taken_at_ms, std::span<const SnapshotRow> rows) {
  Transaction tx(conn_);
  for (const auto& r : rows) {
    const auto& c = r.components;
    insert_
        ->with(r.region, taken_at_ms, r.score, c[0], c[1], c[2], c[3], c[4], r.nodes, r.online, r.open_crit,
               r.open_warn)
        .run();
  }
  tx.commit();
}

std::vector<TrendPoint> SnapshotRepository::trend(const std::string& region, int64_t since_ms, int64_t bucket_ms) {
  auto s = conn_.prepare(
      "SELECT (taken_at_ms / $3) * $3 AS bucket, avg(score), min(score), avg(compute), avg(storage), "
      "avg(network), avg(security), avg(builds), count(*) FROM health_snapshots "
      "WHERE region = $1 AND taken_at_ms >= $2 GROUP BY bucket ORDER BY bucket");
  s->with(region, since_ms, bucket_ms > 0 ? bucket_ms : int64_t{1});
  std::vector<TrendPoint> out;
  while (s->step()) {
    TrendPoint p;
    p.at_ms = s->int64(0);
    p.score = s->real(1);
    p.min_score = s->real(2);
    for (size_t c = 0; c < kComponents; ++c) p.components[c] = s->real(static_cast<int>(3 + c));
    p.samples = static_cast<int>(s->int64(8));
    out.push_back(p);
  }
  return out;
}

size_t SnapshotRepository::count() {
  auto s = conn_.prepare("SELECT count(*) FROM health_snapshots");
  return s->step() ? static_cast<size_t>(s->int64(0)) : 0;
}

size_t SnapshotRepository::prune(int64_t before_ms) { return static_cast<size_t>(prune_->with(before_ms).run()); }

}  // namespace hale::aggregator::storage
