// The remedy plan of `exec`: diagnose a failed attempt, pick the remedy the
// category allows and the budget permits, and prepare the next attempt.
#include "agent/ci/exec_plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <thread>

#include "agent/ci/build_remedies.h"
#include "agent/ci/junit_report.h"
#include "agent/ci/retry_adjust.h"
#include "shared/config/config.h"

namespace hale::agent::ci {
namespace {

Plan noPlan(std::string note) {
  Plan p;
  p.note = std::move(note);
  return p;
}

// Reports older than the attempt belong to an earlier run and are ignored; a
// missing report is normal when the step failed before its tests ran. File
// times come from the kernel's coarse clock, which can lag the precise clock
// the start was read from by a tick, hence the margin.
void refineWithReports(const ExecOptions& o, std::filesystem::file_time_type started, Diagnosis& d) {
  for (const auto& report : o.junit_reports) {
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(report, ec);
    if (ec || written + std::chrono::seconds(1) < started) continue;
    if (const auto summary = parseJUnitFile(report)) refineWithJUnit(d, *summary);
  }
}

// A time limit that stopped the step: exec's own --timeout, or coreutils
// `timeout DURATION` as the command (it exits 124 when the limit hit).
void diagnoseTimeLimit(const std::vector<std::string>& command, const StepResult& r, Diagnosis& d) {
  const bool own = r.timed_out;
  if (!own && !(r.exit_code == 124 && timeoutArgument(command))) return;
  d.secondary = d.category != Category::None && d.category != Category::Timeout && d.category != Category::Unknown
                    ? std::optional(d.category)
                    : std::nullopt;
  d.category = Category::Timeout;
  d.decided_by = DecidedBy::Pattern;
  d.confidence = 1.0;
  d.remedy = Remedy::None;
  const std::string limit = own ? "--timeout" : "its `timeout` limit";
  if (looksHung(r.duration, r.last_output)) {
    const auto silent = r.duration - r.last_output.value_or(std::chrono::milliseconds(0));
    d.remedy = Remedy::RetryLongerTimeout;
    d.explanation = fmt::format("The step ran past {} and printed nothing for its last {:.1f} s: it hung.", limit,
                                std::chrono::duration<double>(silent).count());
  } else {
    d.explanation = fmt::format("The step ran past {} while still printing: it is too slow for its limit.", limit);
  }
}

bool jsHeapExhausted(const Diagnosis& d) {
  static const RE2 kHeap(R"((?i)JavaScript heap out of memory|Reached heap limit)");
  return std::any_of(d.evidence.begin(), d.evidence.end(),
                     [](const auto& e) { return RE2::PartialMatch(e.text, kHeap); });
}

unsigned cpuCount(const ExecOptions& o) { return o.cpus ? o.cpus : std::max(1u, std::thread::hardware_concurrency()); }

// Three quarters of the machine's memory: room for the heap, and for the rest.
unsigned heapBudgetMb(const ExecOptions& o) {
  if (o.memory_mb) return o.memory_mb * 3 / 4;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  const uint64_t mb = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) >> 20 : 4096;
  return static_cast<unsigned>(std::max<uint64_t>(2048, mb * 3 / 4));
}

EnvLookup stepEnvironment(const ExecOptions& o) {
  return [&o](const std::string& name) -> std::optional<std::string> {
    for (auto it = o.env.rbegin(); it != o.env.rend(); ++it)
      if (it->first == name) return it->second;
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
}

}  // namespace

Diagnosis diagnoseAttempt(const ExecOptions& o, std::filesystem::file_time_type started, Classifier* classifier,
                          const std::vector<std::string>& command, const StepResult& r) {
  if (classifier) classifier->markStepFailed();
  Diagnosis d = classifier ? classifier->diagnose() : Diagnosis{};
  refineWithReports(o, started, d);
  diagnoseTimeLimit(command, r, d);
  if (d.category != Category::Timeout && (d.category == Category::None || d.category == Category::Unknown) &&
      (r.exit_code == 137 || r.signal == SIGKILL)) {
    d.category = Category::ResourceMemory;
    d.decided_by = DecidedBy::Pattern;
    d.confidence = 0.6;
    d.remedy = Remedy::RetryLessParallel;
    d.explanation = "The step was killed by SIGKILL, most often the out-of-memory killer.";
  } else if (!r.spawn_error.empty()) {
    d.category = Category::Dependency;
    d.confidence = 1.0;
    d.remedy = Remedy::None;
    d.explanation = r.spawn_error;
  }
  return d;
}

Plan planRemedy(const ExecOptions& o, const Diagnosis& d, const std::vector<std::string>& command,
                std::optional<std::chrono::milliseconds> timeout, RemedyState& state) {
  Plan p;
  p.next_command = command;
  // Asked right before a remedy takes effect, so a refusal leaves no trace but the record.
  const auto admitted = [&](Remedy r) {
    if (!o.budget || o.policy != ExecPolicy::Auto) return true;
    p.refusal = o.budget->admit(command, d.category, r);
    if (p.refusal.empty()) return true;
    p.refused = r;
    return false;
  };
  const auto refused = [&] {
    Plan none;
    none.refused = p.refused;
    none.refusal = p.refusal;
    return none;
  };
  if (d.category == Category::Permission)  // the same credentials are refused again
    return noPlan(fmt::format("not retried: access was refused{}", d.refused.empty() ? "" : " (" + d.refused + ")"));
  switch (d.remedy) {
    case Remedy::Retry:
      if (!admitted(Remedy::Retry)) return refused();
      p.remedy = Remedy::Retry;
      break;
    case Remedy::ClearCache: {
      const std::string kind = d.cache.empty() ? cacheKindForCommand(command) : d.cache;
      if (state.cache_cleared || kind.empty()) return noPlan("no known cache to clear");
      const char* env_home = std::getenv("HOME");
      const std::string home = !o.cache_home.empty() ? o.cache_home : env_home ? env_home : "";
      if (!admitted(Remedy::ClearCache)) return refused();
      if (o.policy == ExecPolicy::Auto) {
        const auto removed = clearPackageCache(kind, home);
        state.cache_cleared = true;
        if (removed.empty()) return noPlan(fmt::format("no {} cache found under {}", kind, home));
        p.note = fmt::format("cleared {}", fmt::join(removed, ", "));
      }
      p.remedy = Remedy::ClearCache;
      break;
    }
    case Remedy::RerunFailedTests: {
      auto rerun = rerunFailedTestsCommand(command, d.failed_tests);
      if (!rerun) return noPlan("the test runner cannot rerun only the failed tests");
      if (!admitted(Remedy::RerunFailedTests)) return refused();
      p.remedy = Remedy::RerunFailedTests;
      p.next_command = std::move(*rerun);
      break;
    }
    case Remedy::FreeDisk: {
      if (o.free_disk_command.empty() || state.disk_freed) return noPlan("no free-disk hook configured");
      if (!admitted(Remedy::FreeDisk)) return refused();
      if (o.policy == ExecPolicy::Auto) {
        StepOptions hook;
        hook.timeout = std::chrono::minutes(10);
        hook.stdout_fd = hook.stderr_fd = o.stderr_fd;
        const StepResult r = runStep(o.free_disk_command, hook, nullptr);
        state.disk_freed = true;
        if (r.exit_code != 0) return noPlan(fmt::format("free-disk hook failed ({})", r.exit_code));
      }
      p.remedy = Remedy::FreeDisk;
      break;
    }
    case Remedy::RetryLessParallel: {
      if (state.parallelism_lowered) return noPlan("parallelism was lowered once already");
      auto change = lessParallel(command, stepEnvironment(o), cpuCount(o), jsHeapExhausted(d), heapBudgetMb(o));
      if (!change) return noPlan("no parallelism knob known for this command");
      if (!admitted(Remedy::RetryLessParallel)) return refused();
      state.parallelism_lowered = true;
      p.remedy = Remedy::RetryLessParallel;
      p.next_command = std::move(change->argv);
      p.next_env = std::move(change->env);
      p.note = "less parallelism: " + change->what;
      break;
    }
    case Remedy::RetryLongerTimeout: {
      if (state.timeout_raised) return noPlan("the time limit was raised once already");
      const auto in_argv = timeoutArgument(command);
      if (!timeout && !in_argv) return noPlan("the step's own time limit is not known");
      if (!admitted(Remedy::RetryLongerTimeout)) return refused();
      state.timeout_raised = true;
      p.remedy = Remedy::RetryLongerTimeout;
      if (timeout) {
        p.next_timeout = raisedTimeout(*timeout);
        p.note = fmt::format("--timeout {} -> {}", config::formatDuration(*timeout),
                             config::formatDuration(*p.next_timeout));
      } else {
        const auto raised = raisedTimeout(in_argv->second);
        p.next_command[in_argv->first] = fmt::format("{}s", (raised.count() + 999) / 1000);
        p.note = fmt::format("timeout {} -> {}", command[in_argv->first], p.next_command[in_argv->first]);
      }
      break;
    }
    case Remedy::None:
      break;
  }
  return p;
}

}  // namespace hale::agent::ci
