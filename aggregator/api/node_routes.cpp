// Nodes: GET /api/v1/nodes (listing with region, status and page filters) and
// GET /api/v1/nodes/{id} (one node with its scores, latest results, open
// issues and recent remediations).
#include "aggregator/api/context.h"
#include "aggregator/api/params.h"
#include "aggregator/api/routes.h"
#include "aggregator/api/row_json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

std::optional<std::string> readStatus(const Query& q, std::optional<bool>& online) {
  auto it = q.params.find("status");
  if (it == q.params.end()) return std::nullopt;
  if (it->second != "online" && it->second != "offline") return "status must be online or offline";
  online = it->second == "online";
  return std::nullopt;
}

Response list(ApiContext& ctx, const Call& call) {
  storage::NodeFilter filter;
  if (auto err = readId(call.query, "region", filter.region)) return errorResponse(400, *err);
  if (auto err = readStatus(call.query, filter.online)) return errorResponse(400, *err);
  if (auto err = readPage(call.query, filter.limit, filter.offset)) return errorResponse(400, *err);
  const int64_t now = ctx.nowMs();
  const auto scores = ctx.currentHealth(now);
  json items = json::array();
  for (const auto& n : ctx.store.nodes().list(filter))
    items.push_back(nodeJson(n, now, ctx.options.health, scores->node(n.node)));
  return jsonResponse(200, json{{"nodes", items},
                                {"total", ctx.store.nodes().count(filter)},
                                {"limit", filter.limit},
                                {"offset", filter.offset}});
}

json resultsJson(storage::Store& store, const std::string& id) {
  json checks = json::array();
  for (const auto& r : store.results().latest(id))
    checks.push_back({{"check", r.check},
                      {"kind", r.kind},
                      {"status", wire::statusName(r.status)},
                      {"component", wire::componentName(r.component)},
                      {"message", r.message},
                      {"metrics", json::parse(r.metrics_json, nullptr, false)},
                      {"observed_at_ms", r.observed_at_ms}});
  return checks;
}

json openIssuesJson(storage::Store& store, const std::string& id) {
  storage::IssueFilter filter;
  filter.node = id;
  filter.open = true;
  json open = json::array();
  for (const auto& row : store.issues().list(filter)) open.push_back(issueJson(row));
  return open;
}

json recentRemediationsJson(storage::Store& store, const std::string& id) {
  storage::RemediationFilter filter;
  filter.node = id;
  filter.limit = 20;
  json recent = json::array();
  for (const auto& row : store.remediations().list(filter)) recent.push_back(remediationJson(row));
  return recent;
}

Response show(ApiContext& ctx, const Call& call) {
  const std::string& id = call.path["id"];
  if (auto bad = refuseBadId(id, "node ids")) return std::move(*bad);
  const auto n = ctx.store.nodes().find(id);
  if (!n) return errorResponse(404, fmt::format("no node '{}'", id));
  const int64_t now = ctx.nowMs();
  const auto scores = ctx.currentHealth(now);
  const health::NodeHealth* scored = scores->node(id);
  json body = nodeJson(*n, now, ctx.options.health, scored);
  if (scored) {
    json components = json::object();
    for (size_t c = 0; c < health::kComponents; ++c)
      components[std::string(health::componentName(c))] = scored->components[c];
    body["components"] = components;
    body["liveness"] = health::livenessName(scored->liveness);
  }
  body["results"] = resultsJson(ctx.store, id);
  body["open_issues"] = openIssuesJson(ctx.store, id);
  body["recent_remediations"] = recentRemediationsJson(ctx.store, id);
  return jsonResponse(200, body);
}

constexpr Route kRoutes[] = {
    {kGet, "/api/v1/nodes", list},
    {kGet, "/api/v1/nodes/{id}", show},
};
}  // namespace

std::span<const Route> nodeRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
