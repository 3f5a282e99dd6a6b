#pragma once
// Health scores 0-100 per node, per component, per region and for the fleet.
// Pure: the inputs are counts the store already aggregated, the output is
// numbers, so every rule below is tested with worked examples and the API,
// /metrics, snapshots and the dashboard can never disagree.
//
// THE FORMULA (also in docs/health.md; change both together)
//
//   Penalties, per node n and component c:
//     P_issue(n,c) = 40 x (open crit issues of n in c) + 15 x (open warn issues of n in c)
//                    (an issue's weight is its check's configured severity; anything
//                     but crit weighs as warn)
//     P_stale(n,c) = min(30, 10 x (latest results of n in c older than result_stale_after))
//                    counted only while the node is online: for a stale or offline
//                    node, liveness below already says its data is old.
//   Raw scores, clamped to 0..100:
//     raw(n,c) = 100 - P_issue(n,c) - P_stale(n,c)
//     raw(n)   = 100 - sum_c P_issue(n,c) - min(30, 10 x stale results of n)
//   Liveness L(n): 1 when online, 0.5 when stale (says online, but no message
//   for 3 heartbeat intervals; 30 s assumed before the first heartbeat), 0 when offline.
//     score(n,c) = L(n) x raw(n,c)          score(n) = L(n) x raw(n)
//   A region (and the fleet) is the plain mean over its nodes:
//     score(r)   = mean of score(n)   for n in r
//     score(r,c) = mean of score(n,c) for n in r
//   Every published score is rounded to one decimal (half away from zero)
//   after the mean; bands use the rounded value:
//     green > 90, yellow 70..90 (both ends included), red < 70.
//   An empty fleet has no score (JSON null, no gauge).
//
// Why these weights: one crit issue makes a node red (60), one warn issue keeps
// it yellow (85), three warns make it red (55); a dead node counts as a whole
// node of lost capacity, and the mean makes a region's score read as "share of
// healthy capacity", which is what failover needs.
#include "aggregator/storage/health_inputs.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hale::aggregator::health {

using storage::kComponents;  ///< compute, storage, network, security, builds (wire order)
inline constexpr int kCritPenalty = 40;
inline constexpr int kWarnPenalty = 15;
inline constexpr int kStaleResultPenalty = 10;
inline constexpr int kStaleResultCap = 30;

/// The component names in wire order (wire::Component values 0..4).
std::string_view componentName(size_t index);

enum class Band { Green, Yellow, Red };
enum class Liveness { Online, Stale, Offline };

Band bandOf(double score);
std::string_view bandName(Band band);
std::string_view livenessName(Liveness liveness);

/// Rounds to one decimal, half away from zero.
double round1(double value);

/// What the store knows about one node, already counted per component.
using NodeInput = storage::NodeHealthInput;

struct Params {
  int64_t result_stale_after_ms = 10 * 60 * 1000;
  int64_t default_heartbeat_ms = 30'000;  ///< assumed before a node's first heartbeat
};

/// Stale when it says online but nothing came for three heartbeat intervals
/// (a broker restart can lose a last will).
Liveness livenessOf(const NodeInput& n, int64_t now_ms, const Params& params);

struct Counts {
  int nodes = 0, online = 0, stale = 0, offline = 0;
  int green = 0, yellow = 0, red = 0;
  int open_crit = 0, open_warn = 0;
};

struct NodeHealth {
  std::string node;
  std::string region;
  Liveness liveness = Liveness::Offline;
  double score = 0;                              ///< rounded
  std::array<double, kComponents> components{};  ///< rounded
  int open_crit = 0, open_warn = 0, stale_results = 0;
};

struct GroupHealth {
  std::string name;             ///< region name; empty for the fleet
  std::optional<double> score;  ///< rounded; nullopt for an empty group
  std::array<std::optional<double>, kComponents> components{};
  Counts counts;
};

struct FleetHealth {
  int64_t computed_at_ms = 0;
  GroupHealth fleet;
  std::vector<GroupHealth> regions;  ///< sorted by name
  std::vector<NodeHealth> nodes;     ///< in input order
};

NodeHealth scoreNode(const NodeInput& node, int64_t now_ms, const Params& params);
FleetHealth computeHealth(std::span<const NodeInput> nodes, int64_t now_ms, const Params& params);

}  // namespace hale::aggregator::health
