#pragma once
// What the health formula (aggregator/health) needs from the database, counted
// per node and component in three aggregate queries over nodes, issues and
// latest_results. The types live here, below the health folder that scores them.
#include "aggregator/storage/sql/connection.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

inline constexpr size_t kComponents = 5;  ///< compute, storage, network, security, builds (wire order)

/// What the store knows about one node, already counted per component.
struct NodeHealthInput {
  std::string node;
  std::string region;
  bool online = false;  ///< from its retained status message
  int64_t last_seen_ms = 0;
  int64_t heartbeat_interval_ms = 0;  ///< 0 before the first heartbeat
  std::array<int, kComponents> open_crit{};
  std::array<int, kComponents> open_warn{};
  std::array<int, kComponents> stale_results{};  ///< latest results older than result_stale_after
};

class HealthInputRepository {
 public:
  explicit HealthInputRepository(Connection& conn);

  /// Per-node inputs ordered by region and node. A latest result observed
  /// before `stale_before_ms` counts as stale.
  std::vector<NodeHealthInput> read(int64_t stale_before_ms);

 private:
  StatementPtr nodes_, issues_, stale_;
};

}  // namespace hale::aggregator::storage
