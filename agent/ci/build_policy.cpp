// [[build_policy]]: named exec policies with a budget kept in the state database.
#include "agent/ci/build_policy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/limits/limiter.h"

namespace hale::agent::ci {
namespace {

constexpr config::FieldSpec kPolicyFields[] = {
    {"name", config::FieldType::String, "", "what `hale-agent exec --policy NAME` calls it", true},
    {"mode", config::FieldType::String, "auto", "auto (apply remedies), dry-run (say which) or off (never rerun)"},
    {"remedies_per_hour", config::FieldType::Integer, "3",
     "remedies (retries, cache clears, reruns, disk frees) per hour for one step and failure category"},
    {"runner_per_hour", config::FieldType::Integer, "0", "remedies per hour for all steps on this runner; 0: no limit"},
    {"max_attempts", config::FieldType::Integer, "0", "runs per exec, 1..10; 0: --max-attempts"},
};

// FNV-1a: a stable short name for a command line in bucket keys.
uint64_t fnv1a(std::string_view text, uint64_t h = 1469598103934665603ULL) {
  for (const unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

std::span<const config::FieldSpec> buildPolicyFields() { return kPolicyFields; }

std::map<std::string, BuildPolicy> buildPoliciesFrom(const toml::table& root, const std::string& file) {
  std::map<std::string, BuildPolicy> out;
  const toml::node* list = root.get("build_policy");
  if (!list) return out;
  const toml::array* arr = list->as_array();
  if (!arr || !arr->is_array_of_tables())
    throw config::ConfigError(config::positionOf(*list, file),
                              "'build_policy' must be an array of tables ([[build_policy]])");
  for (const auto& item : *arr) {
    const auto f = config::readFields(*item.as_table(), kPolicyFields, file, "[[build_policy]]");
    BuildPolicy p;
    p.name = f.str("name");
    if (p.name.empty() || p.name == "auto" || p.name == "dry-run" || p.name == "off" || p.name[0] == '-')
      f.fail("name", "must not be empty, auto, dry-run or off");
    const std::string mode = f.str("mode");
    if (mode == "auto")
      p.mode = ExecPolicy::Auto;
    else if (mode == "dry-run")
      p.mode = ExecPolicy::DryRun;
    else if (mode == "off")
      p.mode = ExecPolicy::Off;
    else
      f.fail("mode", "expected auto, dry-run or off");
    p.remedies_per_hour = f.integer("remedies_per_hour");
    p.runner_per_hour = f.integer("runner_per_hour");
    if (p.remedies_per_hour < 0 || p.runner_per_hour < 0) f.fail("remedies_per_hour", "budgets must not be negative");
    const int64_t attempts = f.integer("max_attempts");
    if (attempts < 0 || attempts > 10) f.fail("max_attempts", "expected 0..10");
    p.max_attempts = static_cast<int>(attempts);
    if (!out.emplace(p.name, p).second) f.fail("name", fmt::format("duplicate build policy '{}'", p.name));
  }
  return out;
}

std::string LimiterBudget::stepKey(const std::vector<std::string>& command, Category category) const {
  uint64_t h = fnv1a("");
  for (const auto& word : command) h = fnv1a(std::string_view("\0", 1), fnv1a(word, h));
  return fmt::format("build:{}:{}:{:016x}", policy_.name, categoryName(category), h);
}

std::string LimiterBudget::admit(const std::vector<std::string>& command, Category category, Remedy) {
  // One transaction: concurrent exec runs on the runner must not both take the last token.
  sqlite::Transaction tx(db_);
  limits::LimitStore store(db_);
  limits::TokenBucket step(store, clock_, stepKey(command, category), policy_.remedies_per_hour);
  std::optional<limits::TokenBucket> runner;
  if (policy_.runner_per_hour > 0)
    runner.emplace(store, clock_, fmt::format("build:{}:runner", policy_.name), policy_.runner_per_hour);
  std::string why;
  if (step.available() < 1)
    why = fmt::format("budget of {} remedies per hour for this step and category ({}) is spent",
                      policy_.remedies_per_hour, categoryName(category));
  else if (runner && runner->available() < 1)
    why = fmt::format("budget of {} remedies per hour for this runner is spent", policy_.runner_per_hour);
  if (why.empty()) {
    step.take();
    if (runner) runner->take();
  }
  tx.commit();
  return why;
}

void applyPolicy(const BuildPolicy& policy, RemedyBudget* budget, ExecOptions& o) {
  o.policy = policy.mode;
  if (policy.max_attempts > 0) o.max_attempts = policy.max_attempts;
  o.budget = budget;
}

}  // namespace hale::agent::ci
