// Health resources: /api/v1/fleet/health, /api/v1/fleet/trend, /api/v1/regions,
// /api/v1/regions/{r}, /api/v1/statistics, and the health part of /metrics.
// Scores are computed on request from three aggregate queries (see
// Store::healthInputs), so they are never older than the data.
#include "aggregator/api/api.h"

#include "shared/util/clock.h"
#include "shared/wire/envelope.h"
#include "shared/wire/topics.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

constexpr std::string_view kFleetHealth = "/api/v1/fleet/health";
constexpr std::string_view kFleetTrend = "/api/v1/fleet/trend";
constexpr std::string_view kRegions = "/api/v1/regions";
constexpr std::string_view kStatistics = "/api/v1/statistics";

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

// Totals of the statistics rows that `pick` selects, with MTTR over the closed ones.
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

std::string promLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void gaugeHeader(std::string& out, std::string_view name, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
}
}  // namespace

std::shared_ptr<const health::ScoredFleet> Api::currentHealth(int64_t now_ms) {
  if (options_.score_cache)
    if (auto cached = options_.score_cache->latest(now_ms, options_.score_max_age)) return cached;
  const auto inputs = store_.healthInputs(now_ms - options_.health.result_stale_after_ms);
  return std::make_shared<const health::ScoredFleet>(health::computeHealth(inputs, now_ms, options_.health));
}

std::optional<Response> Api::routeFleet(const Query& q, bool read) {
  const bool mine =
      q.path == kFleetHealth || q.path == kFleetTrend || q.path == kStatistics || q.path.rfind(kRegions, 0) == 0;
  if (!mine) return std::nullopt;
  if (!read) return errorResponse(405, "use GET");
  if (q.path == kFleetHealth) return fleetHealth();
  if (q.path == kFleetTrend) return fleetTrend(q);
  if (q.path == kRegions || q.path == std::string(kRegions) + "/") return regions();
  if (q.path == kStatistics) return statistics(q);
  if (q.path.rfind(std::string(kRegions) + "/", 0) == 0) {
    const std::string name = q.path.substr(kRegions.size() + 1);
    if (!wire::isValidId(name)) return errorResponse(400, "region names are 1-64 characters of [A-Za-z0-9._-]");
    return region(name);
  }
  return errorResponse(404, fmt::format("no such resource: {}", q.path.substr(0, 200)));
}

Response Api::fleetHealth() {
  const auto scored = currentHealth(unixMillisNow());
  const auto& h = scored->health;
  json body = groupJson(h.fleet);
  json regions = json::array();
  for (const auto& r : h.regions) regions.push_back(groupJson(r));
  body["regions"] = regions;
  body["computed_at_ms"] = h.computed_at_ms;
  return jsonResponse(200, body);
}

Response Api::regions() {
  const auto scored = currentHealth(unixMillisNow());
  const auto& h = scored->health;
  json regions = json::array();
  for (const auto& r : h.regions) regions.push_back(groupJson(r));
  return jsonResponse(200,
                      json{{"regions", regions}, {"total", h.regions.size()}, {"computed_at_ms", h.computed_at_ms}});
}

Response Api::region(const std::string& name) {
  const int64_t now = unixMillisNow();
  const auto scored = currentHealth(now);
  const auto& h = scored->health;
  const health::GroupHealth* group = nullptr;
  for (const auto& r : h.regions)
    if (r.name == name) group = &r;
  if (!group) return errorResponse(404, fmt::format("no region '{}'", name));
  json body = groupJson(*group);
  json nodes = json::array();
  for (const auto& n : h.nodes)
    if (n.region == name) nodes.push_back(nodeHealthJson(n));
  body["nodes"] = nodes;
  const Window& w = kTrendWindows[0];
  body["trend"] = trendJson(store_.trend(name, now - w.span_ms, w.bucket_ms), w);
  body["computed_at_ms"] = h.computed_at_ms;
  return jsonResponse(200, body);
}

Response Api::fleetTrend(const Query& q) {
  auto it = q.params.find("window");
  const Window* w = findWindow(kTrendWindows, it == q.params.end() ? "24h" : it->second);
  if (!w) return errorResponse(400, "window must be 24h or 7d");
  std::string region;
  if (auto r = q.params.find("region"); r != q.params.end()) {
    if (!wire::isValidId(r->second)) return errorResponse(400, "region must be 1-64 characters of [A-Za-z0-9._-]");
    region = r->second;
  }
  json body = trendJson(store_.trend(region, unixMillisNow() - w->span_ms, w->bucket_ms), *w);
  if (!region.empty()) body["region"] = region;
  return jsonResponse(200, body);
}

Response Api::statistics(const Query& q) {
  auto it = q.params.find("window");
  const Window* w = findWindow(kStatsWindows, it == q.params.end() ? "7d" : it->second);
  if (!w) return errorResponse(400, "window must be 24h, 7d, 30d or all");
  const int64_t now = unixMillisNow();
  const int64_t since = w->span_ms ? now - w->span_ms : 0;
  StatsTotals total;
  std::map<std::string, StatsTotals> by_severity, by_component, by_region;
  for (const auto& r : store_.issueStatistics(since)) {
    total.add(r);
    const bool crit = r.severity == static_cast<int>(wire::CheckStatus::Crit);
    by_severity[crit ? "crit" : "warn"].add(r);
    by_component[std::string(health::componentName(static_cast<size_t>(r.component)))].add(r);
    by_region[r.region].add(r);
  }
  // Remediations: what Hale decided and how often a verified repair held.
  json outcomes = json::object();
  uint64_t healed = 0, verified = 0;
  for (const auto& c : store_.remediationOutcomes(since, "")) {
    outcomes[c.category] = c.count;
    if (c.category == "Healed") healed += c.count;
    if (c.category == "Healed" || c.category == "NotHealed" || c.category == "Failed" || c.category == "RolledBack")
      verified += c.count;
  }
  auto mean = [](int64_t sum, int64_t n) { return n > 0 ? json(sum / n) : json(nullptr); };
  const auto repairs = store_.repairTimes(since, now + 1);
  json mttr{{"remediated", mean(repairs.remediated_ms_sum, repairs.remediated)},
            {"other", mean(repairs.other_ms_sum, repairs.other)},
            {"remediated_count", repairs.remediated},
            {"other_count", repairs.other}};
  if (w->span_ms) {
    // The same figures over the window before, to show the trend.
    const auto before = store_.repairTimes(since - w->span_ms, since);
    mttr["previous_window"] = mean(before.remediated_ms_sum + before.other_ms_sum, before.remediated + before.other);
  }
  auto toJson = [](const std::map<std::string, StatsTotals>& m) {
    json out = json::object();
    for (const auto& [k, v] : m) out[k] = v.toJson();
    return out;
  };
  // CI runs received by webhook in the window, by conclusion (status while running).
  json ci_runs = json::object();
  uint64_t ci_total = 0;
  for (const auto& [outcome, n] : webhooks::ciRunOutcomes(store_.db(), since)) {
    ci_runs[outcome] = n;
    ci_total += n;
  }
  return jsonResponse(
      200,
      json{{"window", w->name},
           {"since_ms", since},
           {"ci_runs", json{{"total", ci_total}, {"by_outcome", ci_runs}}},
           {"issues", total.toJson()},
           {"remediations", json{{"outcomes", outcomes},
                                 {"healed", healed},
                                 {"verified", verified},
                                 {"success_rate", verified ? json(double(healed) / double(verified)) : json(nullptr)}}},
           {"mttr_ms", mttr},
           {"by_severity", toJson(by_severity)},
           {"by_component", toJson(by_component)},
           {"by_region", toJson(by_region)}});
}

void Api::appendHealthMetrics(std::string& out) {
  const auto scored = currentHealth(unixMillisNow());
  const auto& h = scored->health;
  gaugeHeader(out, "hale_nodes", "Nodes known to the aggregator, by liveness (stale: online but silent).");
  out += fmt::format(
      "hale_nodes{{state=\"online\"}} {}\nhale_nodes{{state=\"stale\"}} {}\nhale_nodes{{state=\"offline\"}} {}\n",
      h.fleet.counts.online, h.fleet.counts.stale, h.fleet.counts.offline);
  gaugeHeader(out, "hale_nodes_by_band", "Nodes by health band (green > 90, yellow 70-90, red < 70).");
  out += fmt::format(
      "hale_nodes_by_band{{band=\"green\"}} {}\nhale_nodes_by_band{{band=\"yellow\"}} {}\n"
      "hale_nodes_by_band{{band=\"red\"}} {}\n",
      h.fleet.counts.green, h.fleet.counts.yellow, h.fleet.counts.red);
  gaugeHeader(out, "hale_open_issues", "Open issues by region and severity.");
  for (const auto& r : h.regions) {
    out +=
        fmt::format("hale_open_issues{{region=\"{}\",severity=\"crit\"}} {}\n", promLabel(r.name), r.counts.open_crit);
    out +=
        fmt::format("hale_open_issues{{region=\"{}\",severity=\"warn\"}} {}\n", promLabel(r.name), r.counts.open_warn);
  }
  // An empty fleet has no score: the gauges are absent rather than a false 0.
  gaugeHeader(out, "hale_fleet_health_score", "Fleet health score 0-100 (mean of node scores).");
  if (h.fleet.score) out += fmt::format("hale_fleet_health_score {}\n", *h.fleet.score);
  gaugeHeader(out, "hale_fleet_component_health_score", "Fleet health score 0-100 per component.");
  for (size_t c = 0; c < health::kComponents; ++c)
    if (h.fleet.components[c])
      out += fmt::format("hale_fleet_component_health_score{{component=\"{}\"}} {}\n", health::componentName(c),
                         *h.fleet.components[c]);
  gaugeHeader(out, "hale_region_health_score", "Region health score 0-100 (mean of its node scores).");
  for (const auto& r : h.regions)
    out += fmt::format("hale_region_health_score{{region=\"{}\"}} {}\n", promLabel(r.name), r.score.value_or(0));
  gaugeHeader(out, "hale_region_nodes", "Nodes per region by liveness.");
  for (const auto& r : h.regions)
    for (auto [state, n] : {std::pair<std::string_view, int>{"online", r.counts.online},
                            {"stale", r.counts.stale},
                            {"offline", r.counts.offline}})
      out += fmt::format("hale_region_nodes{{region=\"{}\",state=\"{}\"}} {}\n", promLabel(r.name), state, n);
  gaugeHeader(out, "hale_region_component_health_score", "Region health score 0-100 per component.");
  for (const auto& r : h.regions)
    for (size_t c = 0; c < health::kComponents; ++c)
      out += fmt::format("hale_region_component_health_score{{region=\"{}\",component=\"{}\"}} {}\n", promLabel(r.name),
                         health::componentName(c), r.components[c].value_or(0));
  // Per node only the overall score: node x component would multiply series by five.
  gaugeHeader(out, "hale_node_health_score", "Node health score 0-100.");
  for (const auto& n : h.nodes)
    out += fmt::format("hale_node_health_score{{region=\"{}\",node=\"{}\"}} {}\n", promLabel(n.region),
                       promLabel(n.node), n.score);
  if (const auto* s = options_.snapshot_counters) {
    out += fmt::format(
        "# HELP hale_health_snapshots_total Health snapshots stored for trends.\n"
        "# TYPE hale_health_snapshots_total counter\nhale_health_snapshots_total {}\n",
        s->snapshots.load());
    out += fmt::format(
        "# HELP hale_retention_pruned_total Rows deleted by retention.\n"
        "# TYPE hale_retention_pruned_total counter\n"
        "hale_retention_pruned_total{{table=\"check_results\"}} {}\n"
        "hale_retention_pruned_total{{table=\"health_snapshots\"}} {}\n",
        s->pruned_results.load(), s->pruned_snapshots.load());
    out += fmt::format(
        "# HELP hale_health_snapshot_errors_total Snapshot or retention runs that failed.\n"
        "# TYPE hale_health_snapshot_errors_total counter\nhale_health_snapshot_errors_total {}\n",
        s->errors.load());
  }
}

}  // namespace hale::aggregator::api
