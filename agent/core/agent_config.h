#pragma once
// hale-agent's configuration file: [agent], [mqtt], [log] and [[check]] tables.
#include "agent/checks/check.h"
#include "agent/ci/build_policy.h"
#include "agent/ci/build_watch.h"
#include "agent/core/failover_hooks.h"
#include "agent/limits/policy.h"
#include "agent/remedies/remedy.h"
#include "shared/crypto/crypto.h"
#include "shared/mqtt/client.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace hale::agent {

struct AgentConfig {
  std::string file;
  std::string node;
  std::string region;
  std::string state_dir;
  std::chrono::milliseconds heartbeat_interval{10'000};
  std::chrono::milliseconds batch_interval{1'000};
  size_t batch_max_results = 200;
  size_t outbox_max_messages = 100'000;
  uint64_t state_reserve_bytes = 512 * 1024;
  std::chrono::milliseconds ack_timeout{10'000};
  int64_t replay_rate = 500;  ///< telemetry messages per second at most
  bool mqtt_enabled = false;
  mqtt::Options mqtt;
  std::vector<checks::CheckPtr> checks;
  limits::PolicySettings remediation;                     ///< [remediation]
  std::map<std::string, remedies::Plan> plans;            ///< by check name, from [[check.remedy]]
  std::map<std::string, ci::BuildPolicy> build_policies;  ///< [[build_policy]], by name
  ci::WatchSettings builds;                               ///< [builds]: directories the agent watches
  /// Public keys that may sign commands (several during a key rotation); none: commands are refused.
  std::vector<crypto::Key> command_keys;
  FailoverSettings failover;  ///< [failover] hooks
};

/// Loads and validates everything, building the checks. Throws config::ConfigError.
AgentConfig loadAgentConfig(const std::string& path);
/// The same from parsed TOML; `path` names the file in errors.
AgentConfig loadAgentConfig(const toml::table& root, const std::string& path);

/// While a damaged agent.db set aside at start is kept in the state directory,
/// adds a check that reports it (kind agent_state, named "agent-state", unless
/// the configuration has one of that kind): the reset reaches the aggregator as
/// an issue, which closes once someone removed the damaged copy.
void watchDamagedState(AgentConfig& cfg);

/// The keys of [agent], for `hale-agent help config`.
std::span<const config::FieldSpec> agentFields();
std::span<const config::FieldSpec> commandFields();

}  // namespace hale::agent
