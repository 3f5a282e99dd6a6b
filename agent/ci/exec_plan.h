#pragma once
// Between two attempts of `exec`: what the failed attempt was (the
// classifier's diagnosis, corrected by what the process itself showed: a
// timeout, a SIGKILL, a hang) and which remedy to apply, within the limits.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/ci/exec_command.h"
#include "agent/ci/step_runner.h"

namespace hale::agent::ci {

/// What to do after a failed attempt: the remedy and, if rerunning, how.
struct Plan {
  Remedy remedy = Remedy::None;
  std::vector<std::string> next_command;
  std::vector<std::pair<std::string, std::string>> next_env;  ///< added to the step's environment
  std::optional<std::chrono::milliseconds> next_timeout;      ///< exec's own --timeout for the next attempt
  std::string note;
  Remedy refused = Remedy::None;  ///< the policy's budget said no
  std::string refusal;
};

/// Remedies that can help once per `exec` at most.
struct RemedyState {
  bool cache_cleared = false;  // clearing twice cannot help more than once
  bool disk_freed = false;
  bool parallelism_lowered = false;
  bool timeout_raised = false;
};

/// The diagnosis of a failed attempt of `command`.
Diagnosis diagnoseAttempt(const ExecOptions& o, std::filesystem::file_time_type started, Classifier* classifier,
                          const std::vector<std::string>& command, const StepResult& r);

/// The remedy for `d` after `command` failed (under exec's own `timeout`).
Plan planRemedy(const ExecOptions& o, const Diagnosis& d, const std::vector<std::string>& command,
                std::optional<std::chrono::milliseconds> timeout, RemedyState& state);

}  // namespace hale::agent::ci
