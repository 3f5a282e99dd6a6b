#include "aggregator/health/health.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace hale::aggregator::health {
namespace {
constexpr std::string_view kComponentNames[kComponents] = {"compute", "storage", "network", "security", "builds"};

double clampScore(double v) { return std::clamp(v, 0.0, 100.0); }

double livenessFactor(Liveness l) {
  switch (l) {
    case Liveness::Online:
      return 1.0;
    case Liveness::Stale:
      return 0.5;
    case Liveness::Offline:
      return 0.0;
  }
  return 0.0;
}

// Sums in double, rounds once at the end: rounding per node first would let
// the region's score drift from the mean of the scores it is built from.
struct Accumulator {
  std::string name;
  double sum = 0;
  std::array<double, kComponents> component_sums{};
  Counts counts;

  void add(const NodeHealth& n, double raw_score, const std::array<double, kComponents>& raw_components) {
    sum += raw_score;
    for (size_t c = 0; c < kComponents; ++c) component_sums[c] += raw_components[c];
    ++counts.nodes;
    switch (n.liveness) {
      case Liveness::Online:
        ++counts.online;
        break;
      case Liveness::Stale:
        ++counts.stale;
        break;
      case Liveness::Offline:
        ++counts.offline;
        break;
    }
    switch (bandOf(n.score)) {
      case Band::Green:
        ++counts.green;
        break;
      case Band::Yellow:
        ++counts.yellow;
        break;
      case Band::Red:
        ++counts.red;
        break;
    }
    counts.open_crit += n.open_crit;
    counts.open_warn += n.open_warn;
  }

  GroupHealth result() const {
    GroupHealth g;
    g.name = name;
    g.counts = counts;
    if (counts.nodes == 0) return g;
    g.score = round1(sum / counts.nodes);
    for (size_t c = 0; c < kComponents; ++c) g.components[c] = round1(component_sums[c] / counts.nodes);
    return g;
  }
};

struct Scored {
  NodeHealth health;
  double raw_score = 0;  ///< before rounding
  std::array<double, kComponents> raw_components{};
};

Scored score(const NodeInput& n, int64_t now_ms, const Params& params) {
  Scored s;
  s.health.node = n.node;
  s.health.region = n.region;
  s.health.liveness = livenessOf(n, now_ms, params);
  const double factor = livenessFactor(s.health.liveness);
  const bool count_stale_results = s.health.liveness == Liveness::Online;
  int issue_penalty = 0, stale_results = 0;
  for (size_t c = 0; c < kComponents; ++c) {
    const int p_issue = kCritPenalty * n.open_crit[c] + kWarnPenalty * n.open_warn[c];
    const int stale = count_stale_results ? n.stale_results[c] : 0;
    const int p_stale = std::min(kStaleResultCap, kStaleResultPenalty * stale);
    s.raw_components[c] = factor * clampScore(100.0 - p_issue - p_stale);
    s.health.components[c] = round1(s.raw_components[c]);
    issue_penalty += p_issue;
    stale_results += stale;
    s.health.open_crit += n.open_crit[c];
    s.health.open_warn += n.open_warn[c];
    s.health.stale_results += n.stale_results[c];
  }
  const int p_stale = std::min(kStaleResultCap, kStaleResultPenalty * stale_results);
  s.raw_score = factor * clampScore(100.0 - issue_penalty - p_stale);
  s.health.score = round1(s.raw_score);
  return s;
}
}  // namespace

std::string_view componentName(size_t index) { return index < kComponents ? kComponentNames[index] : "unknown"; }

Band bandOf(double score) {
  if (score > 90.0) return Band::Green;
  if (score >= 70.0) return Band::Yellow;
  return Band::Red;
}

std::string_view bandName(Band band) {
  switch (band) {
    case Band::Green:
      return "green";
    case Band::Yellow:
      return "yellow";
    case Band::Red:
      return "red";
  }
  return "red";
}

std::string_view livenessName(Liveness liveness) {
  switch (liveness) {
    case Liveness::Online:
      return "online";
    case Liveness::Stale:
      return "stale";
    case Liveness::Offline:
      return "offline";
  }
  return "offline";
}

double round1(double value) { return std::round(value * 10.0) / 10.0; }

Liveness livenessOf(const NodeInput& n, int64_t now_ms, const Params& params) {
  if (!n.online) return Liveness::Offline;
  const int64_t interval = n.heartbeat_interval_ms > 0 ? n.heartbeat_interval_ms : params.default_heartbeat_ms;
  return now_ms - n.last_seen_ms > 3 * interval ? Liveness::Stale : Liveness::Online;
}

NodeHealth scoreNode(const NodeInput& node, int64_t now_ms, const Params& params) {
  return score(node, now_ms, params).health;
}

FleetHealth computeHealth(std::span<const NodeInput> nodes, int64_t now_ms, const Params& params) {
  FleetHealth out;
  out.computed_at_ms = now_ms;
  Accumulator fleet;
  std::map<std::string, Accumulator> regions;
  out.nodes.reserve(nodes.size());
  for (const auto& n : nodes) {
    Scored s = score(n, now_ms, params);
    fleet.add(s.health, s.raw_score, s.raw_components);
    auto& region = regions[n.region];
    region.name = n.region;
    region.add(s.health, s.raw_score, s.raw_components);
    out.nodes.push_back(std::move(s.health));
  }
  out.fleet = fleet.result();
  for (const auto& [name, acc] : regions) out.regions.push_back(acc.result());
  return out;
}

}  // namespace hale::aggregator::health
