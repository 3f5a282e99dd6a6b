#pragma once
// `hale-agent exec [--policy NAME] [--timeout DUR] [--max-attempts N]
//                  [--patterns DIR]... [--junit REPORT]... -- CMD ARGS...`
// runs a CI step, diagnoses a failure and applies the category's remedy
// within limits (retry with backoff, clear cache then retry, rerun only the
// failed tests, free disk then retry, retry an out-of-memory kill with less
// parallelism, retry a hang with a longer time limit); compile and test
// failures are not retried, nor are permission failures.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/ci/classifier.h"
#include "agent/ci/step_runner.h"

namespace hale::agent::ci {

/// One run of the step, reported after it finished.
struct BuildAttempt {
  std::vector<std::string> command;  ///< argv as run (a rerun may narrow it)
  int attempt = 1;                   ///< 1-based
  int exit_code = 0;
  bool timed_out = false;
  Category category = Category::None;  ///< None when the attempt succeeded
  std::optional<Category> secondary;
  double confidence = 0.0;
  std::string explanation;
  Remedy remedy = Remedy::None;  ///< applied after this attempt (None: no further attempt)
  std::chrono::milliseconds duration{0};
  std::vector<EvidenceLine> evidence;
  std::string tail;               ///< the last bytes of the output (ANSI-stripped, at most 16 KiB, not UTF-8-checked)
  Remedy refused = Remedy::None;  ///< a remedy the policy's budget did not allow
  std::string refusal;            ///< why
};

/// Receives every attempt (the agent stores them and sends BuildEvent telemetry).
class BuildObserver {
 public:
  virtual ~BuildObserver() = default;
  virtual void onAttempt(const BuildAttempt& attempt) = 0;
};

/// A remedy budget that may outlive one `exec` (see build_policy.h).
class RemedyBudget {
 public:
  virtual ~RemedyBudget() = default;
  /// Takes one token for applying `remedy` after `command` failed with
  /// `category`; returns empty when allowed, else why not.
  virtual std::string admit(const std::vector<std::string>& command, Category category, Remedy remedy) = 0;
};

enum class ExecPolicy {
  Auto,    ///< diagnose and apply remedies
  DryRun,  ///< diagnose and say which remedy would apply; never rerun
  Off,     ///< run once; diagnose only
};

struct ExecOptions {
  std::vector<std::string> command;
  ExecPolicy policy = ExecPolicy::Auto;
  std::string policy_name;         ///< a [[build_policy]] name; empty: auto, dry-run or off given directly
  RemedyBudget* budget = nullptr;  ///< consulted before every remedy when set
  std::optional<std::chrono::milliseconds> timeout;  ///< per attempt
  std::chrono::milliseconds kill_grace{5000};
  int max_attempts = 3;
  std::vector<std::string> pattern_paths;       ///< empty: defaultPatternDirs()
  std::chrono::milliseconds retry_delay{2000};  ///< first backoff; doubles up to retry_cap
  std::chrono::milliseconds retry_cap{60000};
  std::vector<std::string> free_disk_command;  ///< argv of the free-disk hook; empty: none
  std::string cache_home;                      ///< empty: $HOME
  std::vector<std::string> junit_reports;      ///< read after a failed attempt (failed names, flaky)
  int stdout_fd = 1;
  int stderr_fd = 2;
  /// Set (to a signal number) by a signal handler: forwarded to the step, no further attempts.
  const std::atomic<int>* interrupt = nullptr;
  /// Environment variables set for the step (on top of ours); a retry with
  /// less parallelism adds its knobs here.
  std::vector<std::pair<std::string, std::string>> env;
  unsigned cpus = 0;             ///< 0: the machine's (tools' default parallelism)
  unsigned memory_mb = 0;        ///< 0: the machine's (Node's heap budget)
  const Clock* clock = nullptr;  ///< times the step's output; RealClock when null
};

/// `args` are the words after "exec". Exit status: the step's (128+N for a
/// signal, 124 on timeout, 127 when it cannot start); 2 on usage/config error.
/// `observer` may be null.
/// `resolve_policy` turns options.policy_name into settings (mode, budget); it
/// returns an error message, or empty. Without it, named policies are refused.
int runExecCommand(const std::vector<std::string>& args, BuildObserver* observer,
                   const std::function<std::string(ExecOptions&)>& resolve_policy = {});

/// Parses `args` into `options`; returns an error message or empty.
std::string parseExecArgs(const std::vector<std::string>& args, ExecOptions& options);

/// The attempt loop, for callers that already hold a compiled knowledge base
/// (`kb` may be null: the step runs once, undiagnosed).
int runExec(const ExecOptions& options, const KnowledgeBase* kb, BuildObserver* observer);

}  // namespace hale::agent::ci
