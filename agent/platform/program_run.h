#pragma once
// Runs a program for a remedy: an absolute path with argv, extra environment
// and a working directory, never through a shell, with a deadline after which
// its whole process group is killed. Output (stdout and stderr) is captured
// up to a cap so the audit trail can keep its tail.
#include "agent/platform/command_capture.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hale::agent::platform {

struct ProgramSpec {
  std::vector<std::string> argv;  ///< argv[0] must be an absolute path: no PATH lookup
  std::vector<std::string> env;   ///< KEY=VALUE added to (or overriding) the agent's environment
  std::string cwd;                ///< empty: the agent's
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  size_t max_output = 64 * 1024;
  int64_t uid = -1;  ///< >= 0: run as this user (the agent must be root)
  int64_t gid = -1;
};

/// Errors are for what prevented the run (relative path, spawn failure).
Result<CapturedRun> runProgram(const ProgramSpec& spec);

}  // namespace hale::agent::platform
