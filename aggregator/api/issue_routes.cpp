// Issues as the agents report them: GET /api/v1/issues?node=&region=&state=open|closed|all&limit=&offset=
#include "aggregator/api/context.h"
#include "aggregator/api/params.h"
#include "aggregator/api/routes.h"
#include "aggregator/api/row_json.h"

#include <nlohmann/json.hpp>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

std::optional<std::string> readState(const Query& q, std::optional<bool>& open) {
  auto it = q.params.find("state");
  if (it == q.params.end() || it->second == "all") return std::nullopt;
  if (it->second != "open" && it->second != "closed") return "state must be open, closed or all";
  open = it->second == "open";
  return std::nullopt;
}

Response list(ApiContext& ctx, const Call& call) {
  storage::IssueFilter filter;
  if (auto err = readId(call.query, "node", filter.node)) return errorResponse(400, *err);
  if (auto err = readId(call.query, "region", filter.region)) return errorResponse(400, *err);
  if (auto err = readState(call.query, filter.open)) return errorResponse(400, *err);
  if (auto err = readPage(call.query, filter.limit, filter.offset)) return errorResponse(400, *err);
  json items = json::array();
  for (const auto& row : ctx.store.issues().list(filter)) items.push_back(issueJson(row));
  return jsonResponse(200, json{{"issues", items},
                                {"total", ctx.store.issues().count(filter)},
                                {"limit", filter.limit},
                                {"offset", filter.offset}});
}

constexpr Route kRoutes[] = {
    {kGet, "/api/v1/issues", list},
};
}  // namespace

std::span<const Route> issueRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
