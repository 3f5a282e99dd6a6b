#pragma once
// Named `exec` policies ([[build_policy]] in the agent configuration) whose
// remedy budget outlives one `exec`: every retry, cache clear, rerun or
// free-disk takes a token from a bucket persisted in the agent's state
// database (agent/limits), per step and category and optionally per runner.
// Separate `exec` invocations of the same step on one runner therefore share
// the budget, so a job retried by the CI system does not multiply the retries.
#include <map>
#include <span>
#include <string>

#include "agent/ci/exec_command.h"
#include "shared/config/config.h"
#include "shared/sqlite/database.h"
#include "shared/util/clock.h"

namespace hale::agent::ci {

struct BuildPolicy {
  std::string name;
  ExecPolicy mode = ExecPolicy::Auto;
  int64_t remedies_per_hour = 3;  ///< per step (argv) and failure category
  int64_t runner_per_hour = 0;    ///< every step of this runner together; 0: no such limit
  int max_attempts = 0;           ///< 0: --max-attempts (default 3)
};

/// [[build_policy]] keys, for validation and `hale-agent help config`.
std::span<const config::FieldSpec> buildPolicyFields();
/// Reads the [[build_policy]] array of tables (absent: none). Throws ConfigError.
std::map<std::string, BuildPolicy> buildPoliciesFrom(const toml::table& root, const std::string& file);

/// The persistent budget of one policy.
class LimiterBudget final : public RemedyBudget {
 public:
  LimiterBudget(sqlite::Database& db, const Clock& clock, BuildPolicy policy)
      : db_(db), clock_(clock), policy_(std::move(policy)) {}
  std::string admit(const std::vector<std::string>& command, Category category, Remedy remedy) override;

  /// The bucket key of a step: the policy, the category and a hash of the argv.
  std::string stepKey(const std::vector<std::string>& command, Category category) const;

 private:
  sqlite::Database& db_;
  const Clock& clock_;
  BuildPolicy policy_;
};

/// Applies a named policy to `options` (mode, max attempts, budget).
void applyPolicy(const BuildPolicy& policy, RemedyBudget* budget, ExecOptions& options);

}  // namespace hale::agent::ci
