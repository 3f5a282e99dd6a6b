#include "aggregator/failover/failover_config.h"

#include "shared/wire/topics.h"

#include <fmt/format.h>

#include <set>

namespace hale::aggregator::failover {
namespace {
constexpr config::FieldSpec kRegionFields[] = {
    {"name", config::FieldType::String, "", "region name, as agents report it in [agent] region (required)"},
    {"priority", config::FieldType::Integer, "100", "lower is preferred: the first region active, the first promoted"},
    {"threshold", config::FieldType::Float, "70", "a window whose mean region score is below this is bad"},
    {"windows", config::FieldType::Integer, "3", "consecutive bad windows before the active region is demoted"},
    {"window", config::FieldType::Duration, "1m", "length of one evaluation window"},
    {"min_dwell", config::FieldType::Duration, "10m", "least time a region stays active before another switch"},
    {"failback", config::FieldType::String, "manual", "\"manual\" (an operator promotes it back) or \"auto\""},
    {"failback_after", config::FieldType::Duration, "30m",
     "with failback = \"auto\": healthy this long before it takes over again"},
    {"hold_while_remediating", config::FieldType::Bool, "false",
     "do not demote while a remediation in the region is in progress"},
};
}  // namespace

std::span<const config::FieldSpec> regionFields() { return kRegionFields; }

std::vector<RegionPolicy> readRegions(const toml::table& root, const std::string& path) {
  std::vector<RegionPolicy> out;
  const toml::node* list = root.get("region");
  if (!list) return out;
  const toml::array* arr = list->as_array();
  if (!arr || !arr->is_array_of_tables())
    throw config::ConfigError(config::positionOf(*list, path), "'region' must be an array of tables ([[region]])");
  std::set<std::string> names;
  for (const auto& item : *arr) {
    const auto f = config::readFields(*item.as_table(), kRegionFields, path, "[[region]]");
    RegionPolicy p;
    if (!f.has("name") || !wire::isValidId(f.str("name"))) f.fail("name", "expected a region name of [A-Za-z0-9._-]");
    p.name = f.str("name");
    if (!names.insert(p.name).second) f.fail("name", fmt::format("duplicate region '{}'", p.name));
    p.priority = static_cast<int>(f.integer("priority"));
    p.threshold = f.number("threshold");
    if (p.threshold <= 0 || p.threshold > 100) f.fail("threshold", "expected a score in (0, 100]");
    const auto windows = f.integer("windows");
    if (windows < 1 || windows > 1000) f.fail("windows", "expected 1..1000");
    p.windows = static_cast<int>(windows);
    p.window = f.duration("window");
    if (p.window.count() < 100) f.fail("window", "expected at least 100ms");
    p.min_dwell = f.duration("min_dwell");
    const std::string failback = f.str("failback");
    if (failback == "auto")
      p.failback = Failback::Auto;
    else if (failback == "manual")
      p.failback = Failback::Manual;
    else
      f.fail("failback", "expected \"manual\" or \"auto\"");
    p.failback_after = f.duration("failback_after");
    p.hold_while_remediating = f.boolean("hold_while_remediating");
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace hale::aggregator::failover
