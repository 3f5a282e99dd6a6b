// GET /metrics: Prometheus text format. Ingest outcomes and latency, health
// scores and node counts, snapshots and retention, incoming webhooks, plus
// what the failover service and the notifier append.
#include "aggregator/api/context.h"
#include "aggregator/api/routes.h"
#include "aggregator/failover/failover_service.h"

#include <fmt/format.h>

namespace hale::aggregator::api {
namespace {
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

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void counter(std::string& out, std::string_view name, std::string_view help,
             std::initializer_list<std::pair<std::string_view, uint64_t>> series) {
  header(out, name, "counter", help);
  for (const auto& [labels, v] : series) out += fmt::format("{}{} {}\n", name, labels, v);
}

void appendIngest(std::string& out, const ingest::Counters& c) {
  counter(out, "hale_ingest_messages_total", "MQTT messages received by the aggregator, by outcome.",
          {{"{outcome=\"stored\"}", c.stored.load()},
           {"{outcome=\"duplicate\"}", c.duplicates.load()},
           {"{outcome=\"invalid\"}", c.invalid.load()},
           {"{outcome=\"status\"}", c.status_updates.load()}});
  counter(out, "hale_ingest_batches_total", "SQLite transactions written by ingest.", {{"", c.batches.load()}});
  counter(out, "hale_ingest_store_errors_total", "Failed ingest writes (retried).", {{"", c.store_errors.load()}});
  header(out, "hale_ingest_latency_seconds", "histogram",
         "From the envelope's sent_at (agent clock) to its SQLite commit.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < c.latency.size(); ++i) {
    cumulative += c.latency[i].load();
    const std::string le =
        i < std::size(ingest::kLatencyBuckets) ? fmt::format("{}", ingest::kLatencyBuckets[i]) : "+Inf";
    out += fmt::format("hale_ingest_latency_seconds_bucket{{le=\"{}\"}} {}\n", le, cumulative);
  }
  out += fmt::format("hale_ingest_latency_seconds_sum {:.3f}\nhale_ingest_latency_seconds_count {}\n",
                     static_cast<double>(c.latency_sum_ms.load()) / 1000.0, cumulative);
}

void appendFleet(std::string& out, const health::FleetHealth& h) {
  const auto& c = h.fleet.counts;
  header(out, "hale_nodes", "gauge", "Nodes known to the aggregator, by liveness (stale: online but silent).");
  out += fmt::format(
      "hale_nodes{{state=\"online\"}} {}\nhale_nodes{{state=\"stale\"}} {}\nhale_nodes{{state=\"offline\"}} {}\n",
      c.online, c.stale, c.offline);
  header(out, "hale_nodes_by_band", "gauge", "Nodes by health band (green > 90, yellow 70-90, red < 70).");
  out += fmt::format(
      "hale_nodes_by_band{{band=\"green\"}} {}\nhale_nodes_by_band{{band=\"yellow\"}} {}\n"
      "hale_nodes_by_band{{band=\"red\"}} {}\n",
      c.green, c.yellow, c.red);
  header(out, "hale_open_issues", "gauge", "Open issues by region and severity.");
  for (const auto& r : h.regions) {
    out +=
        fmt::format("hale_open_issues{{region=\"{}\",severity=\"crit\"}} {}\n", promLabel(r.name), r.counts.open_crit);
    out +=
        fmt::format("hale_open_issues{{region=\"{}\",severity=\"warn\"}} {}\n", promLabel(r.name), r.counts.open_warn);
  }
  // An empty fleet has no score: the gauges are absent rather than a false 0.
  header(out, "hale_fleet_health_score", "gauge", "Fleet health score 0-100 (mean of node scores).");
  if (h.fleet.score) out += fmt::format("hale_fleet_health_score {}\n", *h.fleet.score);
  header(out, "hale_fleet_component_health_score", "gauge", "Fleet health score 0-100 per component.");
  for (size_t i = 0; i < health::kComponents; ++i)
    if (h.fleet.components[i])
      out += fmt::format("hale_fleet_component_health_score{{component=\"{}\"}} {}\n", health::componentName(i),
                         *h.fleet.components[i]);
}

void appendRegionsAndNodes(std::string& out, const health::FleetHealth& h) {
  header(out, "hale_region_health_score", "gauge", "Region health score 0-100 (mean of its node scores).");
  for (const auto& r : h.regions)
    out += fmt::format("hale_region_health_score{{region=\"{}\"}} {}\n", promLabel(r.name), r.score.value_or(0));
  header(out, "hale_region_nodes", "gauge", "Nodes per region by liveness.");
  for (const auto& r : h.regions)
    for (auto [state, n] : {std::pair<std::string_view, int>{"online", r.counts.online},
                            {"stale", r.counts.stale},
                            {"offline", r.counts.offline}})
      out += fmt::format("hale_region_nodes{{region=\"{}\",state=\"{}\"}} {}\n", promLabel(r.name), state, n);
  header(out, "hale_region_component_health_score", "gauge", "Region health score 0-100 per component.");
  for (const auto& r : h.regions)
    for (size_t c = 0; c < health::kComponents; ++c)
      out += fmt::format("hale_region_component_health_score{{region=\"{}\",component=\"{}\"}} {}\n", promLabel(r.name),
                         health::componentName(c), r.components[c].value_or(0));
  // Per node only the overall score: node x component would multiply series by five.
  header(out, "hale_node_health_score", "gauge", "Node health score 0-100.");
  for (const auto& n : h.nodes)
    out += fmt::format("hale_node_health_score{{region=\"{}\",node=\"{}\"}} {}\n", promLabel(n.region),
                       promLabel(n.node), n.score);
}

void appendSnapshots(std::string& out, const health::SnapshotCounters& s) {
  counter(out, "hale_health_snapshots_total", "Health snapshots stored for trends.", {{"", s.snapshots.load()}});
  counter(out, "hale_retention_pruned_total", "Rows deleted by retention.",
          {{"{table=\"check_results\"}", s.pruned_results.load()},
           {"{table=\"health_snapshots\"}", s.pruned_snapshots.load()}});
  counter(out, "hale_health_snapshot_errors_total", "Snapshot or retention runs that failed.", {{"", s.errors.load()}});
}

void appendWebhooks(std::string& out, const std::map<std::string, WebhookCounters>& by_source) {
  static constexpr const char* kSources[] = {"github", "gitlab", "jenkins"};
  auto of = [&](const char* source) {
    auto it = by_source.find(source);
    return it == by_source.end() ? WebhookCounters{} : it->second;
  };
  header(out, "hale_webhook_rejected_total", "counter", "Incoming CI webhooks refused for a bad signature or token.");
  for (const char* s : kSources)
    out += fmt::format("hale_webhook_rejected_total{{source=\"{}\"}} {}\n", s, of(s).rejected);
  header(out, "hale_webhook_received_total", "counter", "Authenticated or oversized CI webhooks, by outcome.");
  for (const char* s : kSources) {
    const WebhookCounters c = of(s);
    for (auto [outcome, v] : {std::pair<const char*, uint64_t>{"recorded", c.accepted},
                              {"duplicate", c.duplicate},
                              {"ignored", c.ignored},
                              {"malformed", c.malformed},
                              {"too_large", c.too_large}})
      out += fmt::format("hale_webhook_received_total{{source=\"{}\",outcome=\"{}\"}} {}\n", s, outcome, v);
  }
}

Response metrics(ApiContext& ctx, const Call&) {
  std::string out;
  appendIngest(out, ctx.counters);
  const auto scored = ctx.currentHealth(ctx.nowMs());
  appendFleet(out, scored->health);
  appendRegionsAndNodes(out, scored->health);
  if (ctx.options.snapshot_counters) appendSnapshots(out, *ctx.options.snapshot_counters);
  if (ctx.options.failover) ctx.options.failover->appendMetrics(out);
  appendWebhooks(out, ctx.webhook_counters);
  if (ctx.options.extra_metrics) ctx.options.extra_metrics(out);
  return Response{200, out, "text/plain; version=0.0.4", {}};
}

constexpr Route kRoutes[] = {
    {kGet, "/metrics", metrics},
};
}  // namespace

std::span<const Route> metricsRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
