#pragma once
// Starting a child the way every part of the agent does: posix_spawn (safe in
// a multi-threaded process, unlike fork + malloc), argv only (never a shell),
// its own process group (so a timeout can kill the whole tree), default
// signal dispositions and nothing blocked (the agent's masks are not the
// child's business), stdin from /dev/null. A child that must run as another
// user is forked instead (posix_spawn cannot change credentials) and does only
// async-signal-safe calls before exec.
#include "shared/util/result.h"

#include <sys/types.h>

#include <cstdint>

#include <string>
#include <vector>

namespace hale::agent::platform {

struct SpawnOptions {
  std::vector<std::string> argv;
  std::vector<std::string> env;  ///< KEY=VALUE entries merged over the agent's environment
  std::string cwd;               ///< empty: the agent's
  int output_fd = -1;            ///< stdout and stderr go here; -1: inherited
  bool search_path = false;      ///< look argv[0] up in PATH (posix_spawnp)
  /// >= 0: the child drops to this uid and gid (supplementary groups: gid only)
  /// before exec; only root can. argv[0] must then be an absolute path.
  int64_t uid = -1;
  int64_t gid = -1;
};

/// The child's pid, or an error "cannot run '<argv0>': <reason>".
Result<pid_t> spawnProcess(const SpawnOptions& options);

/// The agent's environment with `overrides` (KEY=VALUE) replacing or adding entries.
std::vector<std::string> mergedEnvironment(const std::vector<std::string>& overrides);

}  // namespace hale::agent::platform
