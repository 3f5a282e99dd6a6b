// Remediation decisions as agents report them:
// GET /api/v1/remediations?node=&region=&outcome=&limit=&offset=, with outcome
// counts and the success rate over the last 7 days. Approving one is a write
// (write_routes.cpp).
#include "aggregator/api/context.h"
#include "aggregator/api/params.h"
#include "aggregator/api/routes.h"
#include "aggregator/api/row_json.h"

#include <nlohmann/json.hpp>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;
constexpr int64_t kWeekMs = 7LL * 86'400'000;

Response list(ApiContext& ctx, const Call& call) {
  storage::RemediationFilter filter;
  if (auto err = readId(call.query, "node", filter.node)) return errorResponse(400, *err);
  if (auto err = readId(call.query, "region", filter.region)) return errorResponse(400, *err);
  if (auto err = readId(call.query, "outcome", filter.outcome)) return errorResponse(400, *err);
  if (auto err = readPage(call.query, filter.limit, filter.offset)) return errorResponse(400, *err);
  json items = json::array();
  for (const auto& row : ctx.store.remediations().list(filter)) items.push_back(remediationJson(row));
  // Success rate over the last 7 days: healed / (healed + not healed + failed).
  uint64_t healed = 0, unhealed = 0;
  json outcomes = json::object();
  for (const auto& c : ctx.store.remediations().outcomes(ctx.nowMs() - kWeekMs, filter.region)) {
    outcomes[c.category] = c.count;
    if (c.category == "Healed") healed += c.count;
    if (c.category == "NotHealed" || c.category == "Failed") unhealed += c.count;
  }
  const json rate = healed + unhealed ? json(double(healed) / double(healed + unhealed)) : json();
  return jsonResponse(200, json{{"remediations", items},
                                {"outcomes_7d", outcomes},
                                {"success_rate_7d", rate},
                                {"limit", filter.limit},
                                {"offset", filter.offset}});
}

constexpr Route kRoutes[] = {
    {kGet, "/api/v1/remediations", list},
};
}  // namespace

std::span<const Route> remediationRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
