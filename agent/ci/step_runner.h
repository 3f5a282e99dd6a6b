#pragma once
// Runs one CI step as a child in its own process group (argv, never a shell),
// passes its stdout and stderr through unchanged and unbuffered, feeds both to
// a Classifier, and enforces a timeout on the whole process group.
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/ci/classifier.h"
#include "shared/util/clock.h"

namespace hale::agent::ci {

struct StepOptions {
  std::optional<std::chrono::milliseconds> timeout;  ///< none: no limit
  std::chrono::milliseconds kill_grace{5000};        ///< SIGTERM → SIGKILL delay
  int stdout_fd = 1;                                 ///< where the child's stdout goes
  int stderr_fd = 2;
  /// When set and non-zero, the signal number is forwarded to the child's
  /// process group (the child has its own group, so a Ctrl-C or a CI
  /// cancellation aimed at us would not reach it otherwise).
  const std::atomic<int>* forward_signal = nullptr;
  /// Set in the child's environment on top of ours (a retry's lower parallelism).
  std::vector<std::pair<std::string, std::string>> env;
  /// Times the step's output (when it last printed); RealClock when null.
  const Clock* clock = nullptr;
};

struct StepResult {
  int exit_code = 0;  ///< exit status; 128+N when killed by signal N; 124 on timeout; 127 not runnable
  bool timed_out = false;
  int signal = 0;                         ///< the signal that ended the child, if any
  std::chrono::milliseconds duration{0};  ///< on `clock`
  /// When the step last printed, from its start on `clock`; none if it never did.
  std::optional<std::chrono::milliseconds> last_output;
  std::string spawn_error;  ///< set when the command could not be started
};

/// Runs `argv` (argv[0] looked up in PATH) to completion. `classifier` may be
/// null. A child that closes its output early is still waited for; once it
/// exits, output still arriving from its descendants is drained briefly.
StepResult runStep(const std::vector<std::string>& argv, const StepOptions& options, Classifier* classifier);

}  // namespace hale::agent::ci
