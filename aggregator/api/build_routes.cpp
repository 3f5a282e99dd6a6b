// CI builds the agents diagnosed: GET /api/v1/builds?window=24h|7d|30d&region=&category=&limit=
// gives failed attempts by category and the latest attempts with their evidence.
#include "aggregator/api/context.h"
#include "aggregator/api/params.h"
#include "aggregator/api/routes.h"

#include <nlohmann/json.hpp>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

std::optional<std::string> readWindow(const Query& q, int64_t& window_ms) {
  auto it = q.params.find("window");
  if (it == q.params.end() || it->second == "24h") return std::nullopt;
  if (it->second == "7d")
    window_ms = 7 * kDayMs;
  else if (it->second == "30d")
    window_ms = 30 * kDayMs;
  else
    return "window must be 24h, 7d or 30d";
  return std::nullopt;
}

json buildJson(const storage::BuildRow& row) {
  const auto& b = row.build;
  return json{{"node", row.node},
              {"region", row.region},
              {"build_id", b.build_id},
              {"attempt", b.attempt},
              {"command", b.command},
              {"exit_code", b.exit_code},
              {"category", b.category},
              {"secondary_category", b.secondary_category},
              {"confidence", b.confidence},
              {"remedy", b.remedy},
              {"duration_ms", b.duration_ms},
              {"evidence", b.evidence},
              {"at_ms", b.at_ms}};
}

Response list(ApiContext& ctx, const Call& call) {
  std::string region, category;
  int64_t window_ms = kDayMs;
  size_t limit = 50, offset = 0;
  if (auto err = readId(call.query, "region", region)) return errorResponse(400, *err);
  if (auto err = readId(call.query, "category", category)) return errorResponse(400, *err);
  if (auto err = readWindow(call.query, window_ms)) return errorResponse(400, *err);
  if (auto err = readPage(call.query, limit, offset)) return errorResponse(400, *err);
  const int64_t since = ctx.nowMs() - window_ms;
  json categories = json::array();
  for (const auto& c : ctx.store.builds().failedByCategory(since, region))
    categories.push_back({{"category", c.category}, {"count", c.count}});
  json recent = json::array();
  for (const auto& row : ctx.store.builds().recent(since, region, category, limit)) recent.push_back(buildJson(row));
  return jsonResponse(200, json{{"categories", categories}, {"recent", recent}, {"window_ms", window_ms}});
}

constexpr Route kRoutes[] = {
    {kGet, "/api/v1/builds", list},
};
}  // namespace

std::span<const Route> buildRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
