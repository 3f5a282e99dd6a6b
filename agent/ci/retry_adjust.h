#pragma once
// How `exec` changes a step before retrying it after a hang or an
// out-of-memory kill. Pure functions of the command, its environment and
// measured times, so they are tested without running anything.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hale::agent::ci {

using Millis = std::chrono::milliseconds;

/// The words naming the tool of a command: the base names of its first three
/// non-option arguments ("python -m pytest" and "npx jest" name pytest and jest).
std::vector<std::string> toolWords(const std::vector<std::string>& argv);

// ---- hangs ------------------------------------------------------------------

/// A step that was stopped by its time limit hung when it printed nothing for
/// the last quarter of its run (and for at least `min_silence`): a stalled
/// download, a deadlock. One that kept printing was merely slow, and a retry
/// would run out of time again. `last_output` is when it last printed,
/// measured from its start; nullopt when it printed nothing.
bool looksHung(Millis run, std::optional<Millis> last_output, Millis min_silence = Millis(0));

/// The time limit for the retry of a hung step: twice the old one, at most
/// one hour more (kMaxTimeoutRaise).
inline constexpr Millis kMaxTimeoutRaise = std::chrono::hours(1);
Millis raisedTimeout(Millis old);

/// When the step is coreutils `timeout [OPTION]... DURATION COMMAND...`: the
/// index of DURATION in argv and its value. nullopt otherwise.
std::optional<std::pair<size_t, Millis>> timeoutArgument(const std::vector<std::string>& argv);

/// A duration as `timeout` reads it ("30", "1.5m", "2h", "1d").
std::optional<Millis> parseTimeoutDuration(const std::string& text);

// ---- out of memory ----------------------------------------------------------

/// The step with less parallelism: the argv to run and the environment
/// variables to set. `cpus` is the machine's CPU count (the default of tools
/// that run one job per CPU); `env` reads the current environment.
struct ParallelismChange {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::string what;  ///< for people: "make -j8 -> -j4", "CARGO_BUILD_JOBS=2"
};
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// Halves the parallelism the command is known to use: -j/--jobs (make,
/// ninja, cmake --build, cargo, bazel), -p (go), --max-workers (Gradle), -T
/// (Maven), -n (pytest-xdist), --maxWorkers (jest), and MAKEFLAGS,
/// CMAKE_BUILD_PARALLEL_LEVEL, CARGO_BUILD_JOBS, GRADLE_OPTS'
/// org.gradle.workers.max from the environment; a tool that runs one job per
/// CPU by default gets half the CPUs. When the V8 heap itself ran out
/// (`js_heap`), Node's knob is NODE_OPTIONS=--max-old-space-size: raised to
/// `heap_mb` (never lowered). nullopt when nothing is known to lower.
std::optional<ParallelismChange> lessParallel(const std::vector<std::string>& argv, const EnvLookup& env, unsigned cpus,
                                              bool js_heap = false, unsigned heap_mb = 4096);

}  // namespace hale::agent::ci
