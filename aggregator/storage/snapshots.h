#pragma once
// Table owner of `health_snapshots`: a region's (or, with region "", the
// fleet's) scores at one moment, kept longer than raw results for trends.
#include "aggregator/storage/health_inputs.h"
#include "aggregator/storage/sql/connection.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

struct SnapshotRow {
  std::string region;
  double score = 0;
  std::array<double, kComponents> components{};
  int nodes = 0, online = 0, open_crit = 0, open_warn = 0;
};

/// Snapshots averaged over one bucket of a trend window.
struct TrendPoint {
  int64_t at_ms = 0;  ///< bucket start
  double score = 0;   ///< mean over the bucket
  double min_score = 0;
  std::array<double, kComponents> components{};
  int samples = 0;
};

class SnapshotRepository {
 public:
  explicit SnapshotRepository(Connection& conn);

  /// Stores the rows of one snapshot in one transaction (a second one at the same moment replaces it).
  void insert(int64_t taken_at_ms, std::span<const SnapshotRow> rows);
  /// Snapshots of `region` ("" for the fleet) since `since_ms`, averaged per `bucket_ms`.
  std::vector<TrendPoint> trend(const std::string& region, int64_t since_ms, int64_t bucket_ms);
  size_t count();
  /// Retention: deletes snapshots taken before `before_ms`; returns the rows deleted.
  size_t prune(int64_t before_ms);

 private:
  Connection& conn_;
  StatementPtr insert_, prune_;
};

}  // namespace hale::aggregator::storage
