// The service itself: the dashboard page, /health (the process is up) and
// /ready (connected to the broker). None needs a token.
#include "aggregator/api/context.h"
#include "aggregator/api/routes.h"
#include "aggregator/dashboard/dashboard_page.h"

#include <nlohmann/json.hpp>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

Response page(ApiContext&, const Call&) {
  return Response{200, std::string(dashboard::dashboardPage()), "text/html; charset=utf-8", {}};
}

Response health(ApiContext&, const Call&) {
  return jsonResponse(200, json{{"status", "ok"}, {"version", HALE_VERSION}});
}

Response ready(ApiContext& ctx, const Call&) {
  const bool ready = ctx.ready && ctx.ready();
  return jsonResponse(ready ? 200 : 503, json{{"ready", ready}});
}

constexpr Route kRoutes[] = {
    {kGet, "/", page, Access::Public},
    {kGet, "/dashboard", page, Access::Public},
    {kGet, "/health", health, Access::Public},
    {kGet, "/ready", ready, Access::Public},
};
}  // namespace

std::span<const Route> serviceRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
