#pragma once
// The API's resources: each file below holds a table of its routes and their
// handlers. Adding an endpoint: its handler and one line in its resource's
// table (plus a test); adding a resource: a file and one line in routes.cpp.
#include "aggregator/api/router.h"

#include <span>
#include <vector>

namespace hale::aggregator::api {

std::span<const Route> serviceRoutes();      ///< service_routes.cpp: /, /dashboard, /health, /ready
std::span<const Route> metricsRoutes();      ///< metrics_routes.cpp: /metrics
std::span<const Route> nodeRoutes();         ///< node_routes.cpp: /api/v1/nodes[/{id}]
std::span<const Route> issueRoutes();        ///< issue_routes.cpp: /api/v1/issues
std::span<const Route> buildRoutes();        ///< build_routes.cpp: /api/v1/builds
std::span<const Route> remediationRoutes();  ///< remediation_routes.cpp: /api/v1/remediations
std::span<const Route> fleetRoutes();        ///< fleet_routes.cpp: fleet health and trend, regions, statistics
std::span<const Route> webhookRoutes();      ///< webhook_routes.cpp: /api/v1/webhooks/{source}, /api/v1/ci-runs
std::span<const Route> writeRoutes();        ///< write_routes.cpp: commands to agents
std::span<const Route> failoverRoutes();     ///< failover_routes.cpp: /api/v1/failover[/promote]

/// Every resource's table, in matching order.
const std::vector<std::span<const Route>>& resourceRoutes();

}  // namespace hale::aggregator::api
