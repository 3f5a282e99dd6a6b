#include "aggregator/api/routes.h"

namespace hale::aggregator::api {

const std::vector<std::span<const Route>>& resourceRoutes() {
  static const std::vector<std::span<const Route>> kResources = {
      serviceRoutes(),     metricsRoutes(), nodeRoutes(),    issueRoutes(), buildRoutes(),
      remediationRoutes(), fleetRoutes(),   webhookRoutes(), writeRoutes(), failoverRoutes(),
  };
  return kResources;
}

}  // namespace hale::aggregator::api
