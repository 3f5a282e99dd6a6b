#include "agent/core/failover_hooks.h"

#include "shared/app/mqtt_settings.h"
#include "shared/sqlite/database.h"

#include <fmt/format.h>

#include <cstring>

namespace hale::agent {
namespace {
constexpr config::FieldSpec kFailoverFields[] = {
    {"on_promote", config::FieldType::StringArray, "",
     "argv run once when this node's region becomes active (argv[0] absolute; no shell)"},
    {"on_demote", config::FieldType::StringArray, "", "argv run once when this node's region stops being active"},
    {"hook_timeout", config::FieldType::Duration, "60s", "a hook still running after this is killed (process group)"},
};

// The first 8 bytes of a nonce identify a re-delivery; the meta table holds integers.
int64_t nonceTag(const std::vector<uint8_t>& nonce) {
  int64_t tag = 0;
  std::memcpy(&tag, nonce.data(), std::min(nonce.size(), sizeof tag));
  return tag;
}

std::vector<std::string> readArgv(const config::Fields& f, std::string_view key) {
  if (!f.has(key)) return {};
  auto argv = f.strings(key);
  if (!argv.empty() && (argv[0].empty() || argv[0][0] != '/'))
    f.fail(key, "argv[0] must be an absolute path (hooks run without a shell or PATH lookup)");
  return argv;
}
}  // namespace

std::span<const config::FieldSpec> failoverFields() { return kFailoverFields; }

FailoverSettings readFailoverSettings(const toml::table& root, const std::string& path) {
  const auto f = config::readFields(app::sectionOf(root, "failover", path), kFailoverFields, path, "[failover]");
  FailoverSettings s;
  s.on_promote = readArgv(f, "on_promote");
  s.on_demote = readArgv(f, "on_demote");
  s.hook_timeout = f.duration("hook_timeout");
  if (s.hook_timeout.count() <= 0) f.fail("hook_timeout", "expected a duration above zero");
  return s;
}

FailoverState::FailoverState(state::StateStore& store, std::string region)
    : store_(store), region_(std::move(region)) {}

uint64_t FailoverState::epoch() { return static_cast<uint64_t>(store_.metaInt("failover_epoch")); }
bool FailoverState::active() { return store_.metaInt("failover_active") != 0; }

Result<FailoverVerdict> FailoverState::admit(const wire::CommandSpec& spec) {
  const auto* action = std::get_if<wire::RegionRoleAction>(&spec.action);
  if (!action) return Error{fmt::format("action '{}' is not a failover decision", wire::actionName(spec.action))};
  if (action->role != wire::RegionRole::Active) return Error{"a failover decision names the active region"};
  const bool now_active = action->region == region_;
  const uint64_t current = epoch();
  const bool was_active = active();
  if (spec.epoch < current) return Error{fmt::format("stale failover epoch {} (current {})", spec.epoch, current)};
  if (spec.epoch == current && current != 0) {
    if (now_active != was_active)
      return Error{fmt::format("failover epoch {} reused for another decision", spec.epoch)};
    if (nonceTag(spec.nonce) != store_.metaInt("failover_nonce")) {
      // The aggregator re-signed the same decision (fresh expiry); remember the newest.
      store_.setMetaInt("failover_nonce", nonceTag(spec.nonce));
    }
    return FailoverVerdict{true, std::nullopt};
  }
  FailoverVerdict verdict;
  {
    sqlite::Transaction tx(store_.db());
    store_.setMetaInt("failover_epoch", static_cast<int64_t>(spec.epoch));
    store_.setMetaInt("failover_active", now_active ? 1 : 0);
    store_.setMetaInt("failover_nonce", nonceTag(spec.nonce));
    tx.commit();
  }
  if (now_active != was_active) verdict.transition = FailoverTransition{now_active, action->region, spec.epoch};
  return verdict;
}

std::vector<std::string> failoverHookEnv(const std::string& region, const FailoverTransition& t) {
  return {"HALE_REGION=" + region, std::string("HALE_ROLE=") + (t.promote ? "active" : "standby"),
          "HALE_EPOCH=" + std::to_string(t.epoch), "HALE_ACTIVE_REGION=" + t.active_region};
}

}  // namespace hale::agent
