#pragma once
// Local remediation commands: they act on the agent's SQLite state, which the
// running agent reads (switches at each decision, approvals within a second).
#include <string>
#include <vector>

namespace hale::agent::cli {

/// hale-agent remediation on|off [CHECK] [--config FILE]
int cmdRemediation(const std::vector<std::string>& args);
/// hale-agent pending [--config FILE] [--json]
int cmdPending(const std::vector<std::string>& args);
/// hale-agent approve ID [--config FILE]
int cmdApprove(const std::vector<std::string>& args);
/// hale-agent stats [--config FILE] [--json]
int cmdStats(const std::vector<std::string>& args);

}  // namespace hale::agent::cli
