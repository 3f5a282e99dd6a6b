// Health resources: /api/v1/fleet/health, /api/v1/fleet/trend, /api/v1/regions,
// /api/v1/regions/{name} and /api/v1/statistics. Scores come from the score
// cache, or are computed on request from three aggregate queries (see
// storage::HealthInputRepository) when it has none fresh enough.
#include "aggregator/api/context.h"
#include "aggregator/api/params.h"
#include "aggregator/api/routes.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

struct Window {
  std::string_view name;
  int64_t span_ms;
  int64_t bucket_ms;  ///< trend resolution: about 300 points at most
};
constexpr Window kTrendWindows[] = {{"24h", kDay, 5 * kMinute}, {"7d", 7 * kDay, kHour}};
constexpr Window kStatsWindows[] = {{"24h", kDay, 0}, {"7d", 7 * kDay, 0}, {"30d", 30 * kDay, 0}, {"all", 0, 0}};

template <size_t N>
const Window* findWindow(const Window (&windows)[N], std::string_view name) {
  for (const auto& w : windows)
    if (w.name == name) return &w;
  return nullptr;
}

json scoreJson(std::optional<double> score) { return score ? json(*score) : json(nullptr); }
json bandJson(std::optional<double> score) {
  return score ? json(health::bandName(health::bandOf(*score))) : json(nullptr);
}

json componentsJson(const std::array<std::optional<double>, health::kComponents>& c) {
  json out = json::object();
  for (size_t i = 0; i < health::kComponents; ++i) out[std::string(health::componentName(i))] = scoreJson(c[i]);
  return out;
}

json countsJson(const health::Counts& c) {
  return json{{"nodes", c.nodes}, {"online", c.online}, {"stale", c.stale}, {"offline", c.offline},
              {"green", c.green}, {"yellow", c.yellow}, {"red", c.red}};
}

json openIssuesJson(const health::Counts& c) {
  return json{{"crit", c.open_crit}, {"warn", c.open_warn}, {"total", c.open_crit + c.open_warn}};
}

json groupJson(const health::GroupHealth& g) {
  json out{{"score", scoreJson(g.score)},
           {"band", bandJson(g.score)},
           {"components", componentsJson(g.components)},
           {"counts", countsJson(g.counts)},
           {"open_issues", openIssuesJson(g.counts)}};
  if (!g.name.empty()) out["region"] = g.name;
  return out;
}

json nodeHealthJson(const health::NodeHealth& n) {
  json components = json::object();
  for (size_t i = 0; i < health::kComponents; ++i) components[std::string(health::componentName(i))] = n.components[i];
  return json{{"node", n.node},
              {"score", n.score},
              {"band", health::bandName(health::bandOf(n.score))},
              {"liveness", health::livenessName(n.liveness)},
              {"components", components},
              {"open_issues", json{{"crit", n.open_crit}, {"warn", n.open_warn}, {"total", n.open_crit + n.open_warn}}},
              {"stale_results", n.stale_results}};
}

json trendJson(const std::vector<storage::TrendPoint>& points, const Window& w) {
  json items = json::array();
  for (const auto& p : points) {
    json components = json::object();
    for (size_t i = 0; i < health::kComponents; ++i)
      components[std::string(health::componentName(i))] = health::round1(p.components[i]);
    items.push_back(json{{"at_ms", p.at_ms},
                         {"score", health::round1(p.score)},
                         {"min_score", health::round1(p.min_score)},
                         {"components", components},
                         {"samples", p.samples}});
  }
  return json{{"window", w.name}, {"bucket_ms", w.bucket_ms}, {"points", items}};
}

// Totals of statistics rows, with the mean time to repair over the closed ones.
struct StatsTotals {
  int64_t opened = 0, closed = 0, open_now = 0, repair_ms_sum = 0;
  void add(const storage::IssueStatsRow& r) {
    opened += r.opened;
    closed += r.closed;
    open_now += r.open_now;
    repair_ms_sum += r.repair_ms_sum;
  }
  json toJson() const {
    const json mttr = closed > 0 ? json(repair_ms_sum / closed) : json(nullptr);
    return json{{"opened", opened}, {"closed", closed}, {"open", open_now}, {"mttr_ms", mttr}};
  }
};

json groupsJson(const std::vector<health::GroupHealth>& groups) {
  json out = json::array();
  for (const auto& g : groups) out.push_back(groupJson(g));
  return out;
}

Response fleetHealth(ApiContext& ctx, const Call&) {
  const auto scored = ctx.currentHealth(ctx.nowMs());
  const auto& h = scored->health;
  json body = groupJson(h.fleet);
  body["regions"] = groupsJson(h.regions);
  body["computed_at_ms"] = h.computed_at_ms;
  return jsonResponse(200, body);
}

Response regions(ApiContext& ctx, const Call&) {
  const auto scored = ctx.currentHealth(ctx.nowMs());
  const auto& h = scored->health;
  return jsonResponse(
      200, json{{"regions", groupsJson(h.regions)}, {"total", h.regions.size()}, {"computed_at_ms", h.computed_at_ms}});
}

Response region(ApiContext& ctx, const Call& call) {
  const std::string& name = call.path["name"];
  if (auto bad = refuseBadId(name, "region names")) return std::move(*bad);
  const int64_t now = ctx.nowMs();
  const auto scored = ctx.currentHealth(now);
  const auto& h = scored->health;
  const auto group = std::find_if(h.regions.begin(), h.regions.end(), [&](const auto& r) { return r.name == name; });
  if (group == h.regions.end()) return errorResponse(404, fmt::format("no region '{}'", name));
  json body = groupJson(*group);
  json nodes = json::array();
  for (const auto& n : h.nodes)
    if (n.region == name) nodes.push_back(nodeHealthJson(n));
  body["nodes"] = nodes;
  const Window& w = kTrendWindows[0];
  body["trend"] = trendJson(ctx.store.snapshots().trend(name, now - w.span_ms, w.bucket_ms), w);
  body["computed_at_ms"] = h.computed_at_ms;
  return jsonResponse(200, body);
}

Response fleetTrend(ApiContext& ctx, const Call& call) {
  const auto& params = call.query.params;
  auto it = params.find("window");
  const Window* w = findWindow(kTrendWindows, it == params.end() ? "24h" : it->second);
  if (!w) return errorResponse(400, "window must be 24h or 7d");
  std::string region;
  if (auto err = readId(call.query, "region", region)) return errorResponse(400, *err);
  json body = trendJson(ctx.store.snapshots().trend(region, ctx.nowMs() - w->span_ms, w->bucket_ms), *w);
  if (!region.empty()) body["region"] = region;
  return jsonResponse(200, body);
}

// Issue counts and repair times in total and by severity, component and region.
void addIssueStatistics(storage::Store& store, int64_t since, json& body) {
  StatsTotals total;
  std::map<std::string, StatsTotals> by_severity, by_component, by_region;
  for (const auto& r : store.issues().statistics(since)) {
    total.add(r);
    const bool crit = r.severity == static_cast<int>(wire::CheckStatus::Crit);
    by_severity[crit ? "crit" : "warn"].add(r);
    by_component[std::string(health::componentName(static_cast<size_t>(r.component)))].add(r);
    by_region[r.region].add(r);
  }
  auto toJson = [](const std::map<std::string, StatsTotals>& m) {
    json out = json::object();
    for (const auto& [k, v] : m) out[k] = v.toJson();
    return out;
  };
  body["by_severity"] = toJson(by_severity);
  body["by_component"] = toJson(by_component);
  body["by_region"] = toJson(by_region);
  body["issues"] = total.toJson();
}

// What Hale decided and how often a verified repair held.
json remediationStatisticsJson(storage::Store& store, int64_t since) {
  json outcomes = json::object();
  uint64_t healed = 0, verified = 0;
  for (const auto& c : store.remediations().outcomes(since, "")) {
    outcomes[c.category] = c.count;
    if (c.category == "Healed") healed += c.count;
    if (c.category == "Healed" || c.category == "NotHealed" || c.category == "Failed" || c.category == "RolledBack")
      verified += c.count;
  }
  return json{{"outcomes", outcomes},
              {"healed", healed},
              {"verified", verified},
              {"success_rate", verified ? json(double(healed) / double(verified)) : json(nullptr)}};
}

json mttrJson(storage::Store& store, const Window& w, int64_t since, int64_t now) {
  auto mean = [](int64_t sum, int64_t n) { return n > 0 ? json(sum / n) : json(nullptr); };
  const auto repairs = store.issues().repairTimes(since, now + 1);
  json mttr{{"remediated", mean(repairs.remediated_ms_sum, repairs.remediated)},
            {"other", mean(repairs.other_ms_sum, repairs.other)},
            {"remediated_count", repairs.remediated},
            {"other_count", repairs.other}};
  if (w.span_ms) {
    // The same figures over the window before, to show the trend.
    const auto before = store.issues().repairTimes(since - w.span_ms, since);
    mttr["previous_window"] = mean(before.remediated_ms_sum + before.other_ms_sum, before.remediated + before.other);
  }
  return mttr;
}

// CI runs received by webhook in the window, by conclusion (status while running).
json ciRunStatisticsJson(storage::Store& store, int64_t since) {
  json by_outcome = json::object();
  uint64_t total = 0;
  for (const auto& [outcome, n] : store.ciRuns().outcomes(since)) {
    by_outcome[outcome] = n;
    total += n;
  }
  return json{{"total", total}, {"by_outcome", by_outcome}};
}

Response statistics(ApiContext& ctx, const Call& call) {
  const auto& params = call.query.params;
  auto it = params.find("window");
  const Window* w = findWindow(kStatsWindows, it == params.end() ? "7d" : it->second);
  if (!w) return errorResponse(400, "window must be 24h, 7d, 30d or all");
  const int64_t now = ctx.nowMs();
  const int64_t since = w->span_ms ? now - w->span_ms : 0;
  json body{{"window", w->name}, {"since_ms", since}};
  addIssueStatistics(ctx.store, since, body);
  body["ci_runs"] = ciRunStatisticsJson(ctx.store, since);
  body["remediations"] = remediationStatisticsJson(ctx.store, since);
  body["mttr_ms"] = mttrJson(ctx.store, *w, since, now);
  return jsonResponse(200, body);
}

constexpr Route kRoutes[] = {
    {kGet, "/api/v1/fleet/health", fleetHealth}, {kGet, "/api/v1/fleet/trend", fleetTrend},
    {kGet, "/api/v1/regions", regions},          {kGet, "/api/v1/regions/{name}", region},
    {kGet, "/api/v1/statistics", statistics},
};
}  // namespace

std::span<const Route> fleetRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
