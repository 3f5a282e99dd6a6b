#pragma once
// A remedy action repairs one thing (restart, kill, run, clean, ...). Each kind
// lives in its own file (<action>.cpp) with a FieldSpec table and a factory,
// and is registered by one line in registry.cpp, like the checks. A plan is
// the per-check ordered escalation list of steps, each an action with its
// settle time, cooldown, approval flag and optional rollback.
#include "agent/limits/limiter.h"
#include "shared/config/config.h"
#include "shared/util/clock.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::remedies {

/// What an action knows about the issue it is repairing.
struct ActionContext {
  std::string check;
  std::string check_kind;
  uint64_t issue_id = 0;
  uint64_t attempt_id = 0;
  std::string status;   ///< the check's status when the issue opened
  std::string message;  ///< the check's message when the issue opened
  std::string reason;   ///< for notify: why Hale gave up
};

struct ActionResult {
  bool ok = false;
  std::vector<std::string> argv;  ///< what ran, for the audit trail
  int exit_code = 0;
  std::string output_tail;
  std::string detail;  ///< what happened, in words
  Millis duration{0};
};

class Action {
 public:
  virtual ~Action() = default;
  /// Does the work. May block (runs a program, walks a tree): the engine calls
  /// it on a worker thread, never on the event loop.
  virtual ActionResult execute(const ActionContext& ctx) = 0;
  /// Absolute paths of programs it would start; each must be allowlisted.
  virtual std::vector<std::string> programs() const { return {}; }
  /// What it acts on, for the per-resource budget; empty: the check's name.
  virtual std::string resource() const { return {}; }
  /// For restarts of a crashed child: how long it ran before its last exit,
  /// which drives the crash-loop backoff; nullopt when backoff does not apply.
  virtual std::optional<Millis> crashUptime(const ActionContext& /*ctx*/) const { return std::nullopt; }
  /// One line for dry-run and the audit trail.
  virtual std::string describe() const = 0;
};

using ActionPtr = std::unique_ptr<Action>;

/// What an action may use from its surroundings.
struct ActionEnv {
  const Clock& clock;
  std::string state_dir;
};

using ActionFactory = ActionPtr (*)(const config::Fields& fields, const ActionEnv& env);

struct ActionKind {
  std::string_view name;
  std::string_view summary;
  std::span<const config::FieldSpec> fields;
  ActionFactory make;
};

std::span<const ActionKind> allActions();
const ActionKind* findAction(std::string_view name);
/// Keys every [[check.remedy]] table accepts besides its action's own.
std::span<const config::FieldSpec> stepFields();

struct Step {
  std::string action;  ///< the kind's name
  ActionPtr impl;
  Millis settle{std::chrono::seconds(5)};  ///< wait after acting before re-running the check
  std::optional<Millis> cooldown;          ///< overrides [remediation] cooldown
  bool approval = false;                   ///< queue for a human (or a signed command) first
  bool alternative = false;                ///< adjacent alternatives are ordered by learned success
  std::unique_ptr<Step> rollback;          ///< runs when this step failed or made things worse
  config::SourcePos pos;
};

struct Plan {
  std::vector<Step> steps;   ///< escalation order (alternatives reordered at run time)
  std::vector<Step> notify;  ///< notify steps: run only when remediation failed or the budget is spent
};

/// Builds the plan from a check's `remedy` array of tables; throws config::ConfigError.
/// `check_table`: the check's own keys, which a restore step inherits (path, baseline).
Plan parsePlan(const toml::node& remedy, const std::string& file, const std::string& check, const ActionEnv& env,
               const toml::table* check_table = nullptr);

/// Shared helpers for actions.
std::string tail(const std::string& text, size_t max = 512);
int signalByName(std::string_view name);  ///< "TERM", "SIGKILL", "9"; 0 when unknown

}  // namespace hale::agent::remedies

namespace hale::agent::platform {
struct ProgramSpec;
}

namespace hale::agent::remedies {
/// Runs a program (run, hook, restart's start command) and reports it: ok when
/// it exited 0 within its timeout.
ActionResult runAndReport(const platform::ProgramSpec& spec);
/// argv, env, cwd, timeout and user of run-like actions (run, hook, renew_cert); throws config::ConfigError.
platform::ProgramSpec programSpecFrom(const config::Fields& fields);
/// HALE_* variables describing the issue, for hooks and start commands.
std::vector<std::string> contextEnv(const ActionContext& ctx);
}  // namespace hale::agent::remedies
