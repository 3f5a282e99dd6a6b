#include "agent/limits/policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace hale::agent::limits {
namespace {
constexpr config::FieldSpec kRemediationFields[] = {
    {"auto_remediation", config::FieldType::Bool, "true",
     "act on issues at all (runtime: hale-agent remediation on|off)"},
    {"dry_run", config::FieldType::Bool, "false", "decide and record every step, execute nothing"},
    {"allowlist", config::FieldType::StringArray, "", "absolute paths of programs run, hook and restart may start"},
    {"approval_ttl", config::FieldType::Duration, "1h", "a step awaiting approval expires after this"},
    {"resource_per_hour", config::FieldType::Integer, "10", "actions on one resource per hour"},
    {"global_per_hour", config::FieldType::Integer, "100", "actions on this node per hour"},
    {"cooldown", config::FieldType::Duration, "5m", "minimum time between two runs of one step"},
    {"max_attempts", config::FieldType::Integer, "5", "executed steps per issue"},
    {"breaker_failures", config::FieldType::Integer, "3", "failed remediations of a check that open its breaker"},
    {"breaker_window", config::FieldType::Duration, "1h", "window for breaker_failures"},
    {"breaker_open_for", config::FieldType::Duration, "30m", "then one half-open probe is allowed"},
    {"backoff_initial", config::FieldType::Duration, "1s", "first crash-loop restart delay"},
    {"backoff_cap", config::FieldType::Duration, "5m", "longest crash-loop restart delay"},
    {"backoff_reset_after", config::FieldType::Duration, "10m", "uptime after which the backoff starts over"},
};
}  // namespace

std::span<const config::FieldSpec> remediationFields() { return kRemediationFields; }

PolicySettings policyFrom(const config::Fields& f) {
  PolicySettings p;
  p.enabled = f.boolean("auto_remediation");
  p.dry_run = f.boolean("dry_run");
  if (f.has("allowlist")) p.allowlist = f.strings("allowlist");
  for (const auto& path : p.allowlist)
    if (path.empty() || path[0] != '/') f.fail("allowlist", fmt::format("'{}' is not an absolute path", path));
  p.approval_ttl = f.duration("approval_ttl");
  auto& l = p.limits;
  l.resource_per_hour = f.integer("resource_per_hour");
  l.global_per_hour = f.integer("global_per_hour");
  if (l.resource_per_hour < 0 || l.global_per_hour < 0) f.fail("resource_per_hour", "budgets must not be negative");
  l.cooldown = f.duration("cooldown");
  l.max_attempts = f.integer("max_attempts");
  l.breaker_failures = f.integer("breaker_failures");
  if (l.breaker_failures < 1) f.fail("breaker_failures", "must be at least 1");
  l.breaker_window = f.duration("breaker_window");
  l.breaker_open_for = f.duration("breaker_open_for");
  l.backoff_initial = f.duration("backoff_initial");
  l.backoff_cap = f.duration("backoff_cap");
  if (l.backoff_cap < l.backoff_initial) f.fail("backoff_cap", "must not be shorter than backoff_initial");
  l.backoff_reset_after = f.duration("backoff_reset_after");
  return p;
}

std::string Policy::switchKey(const std::string& check) {
  return check.empty() ? "auto_remediation_disabled" : "auto_remediation_disabled:" + check;
}

bool Policy::autoEnabled(const std::string& check) {
  // Meta values: 0 unset, 1 switched off, -1 switched on (overrides a config "false").
  const int64_t global = store_.metaInt(switchKey(""));
  if (global == 1 || (global == 0 && !s_.enabled)) return false;
  return store_.metaInt(switchKey(check)) != 1;
}

void Policy::setAuto(state::StateStore& store, const std::string& check, bool enabled) {
  store.setMetaInt(switchKey(check), enabled ? -1 : 1);
}

Status Policy::allowProgram(const std::string& path) const {
  if (path.empty() || path[0] != '/') return makeError(fmt::format("'{}' is not an absolute path", path));
  // "/usr/bin/../../tmp/x" must not pass as "/usr/bin/...".
  if (std::filesystem::path(path).lexically_normal().string() != path)
    return makeError(fmt::format("'{}' is not a normalized path", path));
  if (std::find(s_.allowlist.begin(), s_.allowlist.end(), path) == s_.allowlist.end())
    return makeError(fmt::format("'{}' is not on the [remediation] allowlist", path));
  return {};
}

}  // namespace hale::agent::limits
