#pragma once
// [[region]] tables of the aggregator config: the failover policy per region.
#include "aggregator/failover/controller.h"
#include "shared/config/config.h"

#include <span>
#include <vector>

namespace hale::aggregator::failover {

std::span<const config::FieldSpec> regionFields();

/// Reads every [[region]] (none: failover is off). Throws config::ConfigError with file:line:col.
std::vector<RegionPolicy> readRegions(const toml::table& root, const std::string& path);

}  // namespace hale::aggregator::failover
