#pragma once
// Runs a command from argv (never through a shell) with a deadline and
// captures its combined stdout and stderr up to a cap. The child leads its
// own process group so that a timeout kills it together with its children.
#include "shared/net/net.h"  // Deadline

#include <string>
#include <vector>

namespace hale::agent::platform {

// The socket layer moved to shared/net (the aggregator uses it too).
using net::Deadline;
using net::remainingMs;
using net::Socket;

struct CapturedRun {
  int exit_code = -1;      ///< valid when it exited; -1 otherwise
  int term_signal = 0;     ///< signal that ended it, 0 when it exited
  bool timed_out = false;  ///< the deadline passed and the group was sent SIGKILL
  std::string output;      ///< stdout and stderr interleaved, at most the cap
};

/// Spawns argv[0] (looked up in PATH) with stdin from /dev/null. Errors are
/// for what prevented the run (empty argv, spawn failure: no such program).
Result<CapturedRun> runCaptured(const std::vector<std::string>& argv, Deadline deadline, size_t max_output = 64 * 1024);

}  // namespace hale::agent::platform
