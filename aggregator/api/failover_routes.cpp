// Region failover: GET /api/v1/failover (the active region, its epoch, each
// region's policy and bad windows, the decision history) and
// POST /api/v1/failover/promote {"region": R} (an operator's failback).
// Without [[region]] tables both answer 404.
#include "aggregator/api/context.h"
#include "aggregator/api/routes.h"
#include "aggregator/failover/failover_service.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;
constexpr size_t kHistory = 100;
constexpr size_t kMaxBody = 64 * 1024;

Response notConfigured() { return errorResponse(404, "failover is not configured ([[region]])"); }

json regionsJson(const failover::Service& svc) {
  json regions = json::array();
  for (const auto& r : svc.regions())
    regions.push_back({{"name", r.name},
                       {"priority", r.priority},
                       {"active", r.name == svc.state().active},
                       {"threshold", r.threshold},
                       {"windows", r.windows},
                       {"window_ms", r.window.count()},
                       {"bad_windows", svc.badStreak(r.name)},
                       {"min_dwell_ms", r.min_dwell.count()},
                       {"failback", std::string(failover::failbackName(r.failback))},
                       {"failback_after_ms", r.failback_after.count()},
                       {"hold_while_remediating", r.hold_while_remediating}});
  return regions;
}

json historyJson(failover::Service& svc) {
  json history = json::array();
  for (const auto& d : svc.history(kHistory))
    history.push_back({{"epoch", d.epoch},
                       {"at_ms", d.at_ms},
                       {"from", d.from_region.empty() ? json(nullptr) : json(d.from_region)},
                       {"to", d.to_region},
                       {"reason", d.reason}});
  return history;
}

Response show(ApiContext& ctx, const Call&) {
  auto* svc = ctx.options.failover;
  if (!svc) return notConfigured();
  const auto& state = svc->state();
  return jsonResponse(200, json{{"active", state.active.empty() ? json(nullptr) : json(state.active)},
                                {"epoch", state.epoch},
                                {"since_ms", state.since_ms},
                                {"published_epoch", svc->publishedEpoch()},
                                {"failovers", svc->failovers()},
                                {"regions", regionsJson(*svc)},
                                {"history", historyJson(*svc)}});
}

Response promote(ApiContext& ctx, const Call& call) {
  auto* svc = ctx.options.failover;
  if (!svc) return notConfigured();
  if (call.request.body.size() > kMaxBody) return errorResponse(413, "request body over 64 KiB");
  const json body = json::parse(call.request.body.empty() ? "{}" : call.request.body, nullptr, false);
  if (!body.is_object() || !body.contains("region") || !body["region"].is_string())
    return errorResponse(400, "body needs \"region\": the region to make active");
  const std::string region = body["region"];
  using Outcome = failover::Service::Promotion::Outcome;
  const auto promotion = svc->promote(region);
  if (promotion.outcome == Outcome::UnknownRegion)
    return errorResponse(404, fmt::format("no configured region '{}'", region.substr(0, 64)));
  if (promotion.outcome == Outcome::AlreadyActive)
    return errorResponse(409, fmt::format("region '{}' is already active", region));
  const auto& d = promotion.decision;
  return jsonResponse(200, json{{"active", d.to}, {"from", d.from}, {"epoch", d.epoch}});
}

constexpr Route kRoutes[] = {
    {kGet, "/api/v1/failover", show},
    {kPost, "/api/v1/failover/promote", promote, Access::Write},
};
}  // namespace

std::span<const Route> failoverRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
