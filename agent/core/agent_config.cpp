#include "agent/core/agent_config.h"
#include "agent/state/state_open.h"

#include "agent/drills/drill.h"
#include "shared/app/mqtt_settings.h"
#include "shared/wire/topics.h"

#include <fmt/format.h>

#include <set>

#include <unistd.h>

namespace hale::agent {
namespace {
constexpr config::FieldSpec kAgentFields[] = {
    {"node", config::FieldType::String, "", "this node's id, unique in the fleet ([A-Za-z0-9._-]); default: host name"},
    {"region", config::FieldType::String, "", "the region this node belongs to", true},
    {"state_dir", config::FieldType::String, "/var/lib/hale", "where the agent keeps its SQLite state"},
    {"heartbeat_interval", config::FieldType::Duration, "10s", "how often a heartbeat is sent"},
    {"batch_interval", config::FieldType::Duration, "1s", "longest a check result waits before it is sent"},
    {"batch_max_results", config::FieldType::Integer, "200", "results per telemetry message at most"},
    {"outbox_max_messages", config::FieldType::Integer, "100000", "unsent messages kept; the oldest go first"},
    {"state_reserve_kb", config::FieldType::Integer, "512",
     "disk kept free next to the state and given back to it when its file system is full (0: none)"},
    {"replay_rate", config::FieldType::Integer, "500",
     "telemetry messages per second at most (bursts of as many): a reconnecting fleet replays without a flood"},
    {"ack_timeout", config::FieldType::Duration, "10s",
     "replay unacknowledged telemetry when the aggregator's ack has not moved for this long"},
};
constexpr config::FieldSpec kCommandFields[] = {
    {"public_key_files", config::FieldType::StringArray, "",
     "PEM public keys of the aggregator that may sign commands (list two while rotating)"},
};
constexpr std::string_view kTopLevel[] = {"agent", "mqtt",         "log",    "commands", "remediation",
                                          "check", "build_policy", "builds", "failover"};

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  std::string name(buf);
  if (auto dot = name.find('.'); dot != std::string::npos) name.resize(dot);
  return name;
}
}  // namespace

std::span<const config::FieldSpec> agentFields() { return kAgentFields; }
std::span<const config::FieldSpec> commandFields() { return kCommandFields; }

AgentConfig loadAgentConfig(const std::string& path) { return loadAgentConfig(config::parseFile(path), path); }

AgentConfig loadAgentConfig(const toml::table& root, const std::string& path) {
  config::rejectUnknownKeys(root, kTopLevel, path, "the top level");
  AgentConfig cfg;
  cfg.file = path;

  const auto& agent_table = app::sectionOf(root, "agent", path);
  if (!root.get("agent")) throw config::ConfigError(config::SourcePos{path, 1, 1}, "missing required table [agent]");
  const auto a = config::readFields(agent_table, kAgentFields, path, "[agent]");
  cfg.node = a.optStr("node").value_or(hostName());
  if (!wire::isValidId(cfg.node)) a.fail("node", "expected 1-64 characters of [A-Za-z0-9._-]");
  cfg.region = a.str("region");
  if (!wire::isValidId(cfg.region) || cfg.region == "global")
    a.fail("region", "expected 1-64 characters of [A-Za-z0-9._-], not 'global'");
  cfg.state_dir = a.str("state_dir");
  cfg.heartbeat_interval = a.duration("heartbeat_interval");
  cfg.batch_interval = a.duration("batch_interval");
  if (cfg.heartbeat_interval.count() < 100) a.fail("heartbeat_interval", "must be at least 100ms");
  if (cfg.batch_interval.count() < 10) a.fail("batch_interval", "must be at least 10ms");
  const auto batch_max = a.integer("batch_max_results");
  if (batch_max < 1 || batch_max > static_cast<int64_t>(wire::kMaxResultsPerBatch))
    a.fail("batch_max_results", fmt::format("expected 1..{}", wire::kMaxResultsPerBatch));
  cfg.batch_max_results = static_cast<size_t>(batch_max);
  const auto outbox_max = a.integer("outbox_max_messages");
  if (outbox_max < 10) a.fail("outbox_max_messages", "must be at least 10");
  cfg.outbox_max_messages = static_cast<size_t>(outbox_max);
  const auto reserve_kb = a.integer("state_reserve_kb");
  if (reserve_kb < 0 || reserve_kb > 1024 * 1024) a.fail("state_reserve_kb", "expected 0..1048576");
  cfg.state_reserve_bytes = static_cast<uint64_t>(reserve_kb) * 1024;
  cfg.ack_timeout = a.duration("ack_timeout");
  cfg.replay_rate = a.integer("replay_rate");
  if (cfg.replay_rate < 1 || cfg.replay_rate > 1'000'000) a.fail("replay_rate", "expected 1..1000000");
  if (cfg.ack_timeout.count() < 100) a.fail("ack_timeout", "must be at least 100ms");

  app::applyLogSettings(config::readFields(app::sectionOf(root, "log", path), app::logFields(), path, "[log]"));

  if (root.get("mqtt")) {
    cfg.mqtt = app::readMqttOptions(app::sectionOf(root, "mqtt", path), path);
    cfg.mqtt_enabled = true;
  }

  const auto c = config::readFields(app::sectionOf(root, "commands", path), kCommandFields, path, "[commands]");
  for (const auto& file : c.strings("public_key_files")) {
    auto key = crypto::Key::fromFile(file, false);
    if (!key) c.fail("public_key_files", key.error().message);
    cfg.command_keys.push_back(std::move(*key));
  }

  cfg.remediation = limits::policyFrom(config::readFields(app::sectionOf(root, "remediation", path),
                                                          limits::remediationFields(), path, "[remediation]"));

  cfg.failover = readFailoverSettings(root, path);
  cfg.build_policies = ci::buildPoliciesFrom(root, path);
  cfg.builds = ci::watchSettingsFrom(
      config::readFields(app::sectionOf(root, "builds", path), ci::buildsFields(), path, "[builds]"));

  checks::CheckEnv env{RealClock::instance(), cfg.state_dir};
  const remedies::ActionEnv action_env{RealClock::instance(), cfg.state_dir};
  std::set<std::string> names;
  if (const toml::node* list = root.get("check")) {
    const toml::array* arr = list->as_array();
    if (!arr || !arr->is_array_of_tables())
      throw config::ConfigError(config::positionOf(*list, path), "'check' must be an array of tables ([[check]])");
    for (const auto& item : *arr) {
      // The plan is a sub-table the check's FieldSpec reader does not know about.
      toml::table table = *item.as_table();
      const toml::node* remedy = item.as_table()->get("remedy");
      const toml::node* drill = item.as_table()->get("drill");
      table.erase("remedy");
      table.erase("drill");
      auto check = checks::makeCheck(table, path, env);
      if (drill)
        drills::parseDrillSettings(*drill, path, check->name());  // [check.drill]: checked here, used by drills
      if (!names.insert(check->name()).second)
        throw config::ConfigError(config::positionOf(item, path),
                                  fmt::format("duplicate check name '{}'", check->name()));
      if (remedy) cfg.plans[check->name()] = remedies::parsePlan(*remedy, path, check->name(), action_env, &table);
      cfg.checks.push_back(std::move(check));
    }
  }
  return cfg;
}

void watchDamagedState(AgentConfig& cfg) {
  if (state::damagedStateFiles(cfg.state_dir).empty()) return;
  for (const auto& check : cfg.checks)
    if (check->common().kind == "agent_state") return;
  const toml::table table{{"name", "agent-state"}, {"kind", "agent_state"}, {"interval", "30s"},
                          {"severity", "warn"},    {"fail_after", 1},       {"pass_after", 1}};
  const checks::CheckEnv env{RealClock::instance(), cfg.state_dir};
  cfg.checks.push_back(checks::makeCheck(table, cfg.file, env));
}

}  // namespace hale::agent
