// The attempt loop of `hale-agent exec`: run, diagnose, pick a remedy the
// category allows and the budget permits, apply it, run again.
#include "agent/ci/exec_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "agent/ci/exec_plan.h"
#include "shared/config/config.h"
#include "shared/util/backoff.h"

namespace hale::agent::ci {
namespace {

constexpr std::string_view kUsage =
    "usage: hale-agent exec [--policy auto|dry-run|off|NAME] [--timeout DUR] [--max-attempts N]\n"
    "                       [--patterns DIR|FILE]... [--retry-delay DUR] [--kill-grace DUR]\n"
    "                       [--free-disk-cmd PROGRAM] [--junit REPORT.xml]... [--config FILE] -- CMD ARGS...\n"
    "\n"
    "--policy NAME uses a [[build_policy]] of the agent configuration: its remedy\n"
    "budget (remedies per hour per step and category) is kept in the agent's state,\n"
    "so separate exec runs of one step on this runner share it.\n";

void say(const ExecOptions& o, const std::string& message) {
  const std::string line = "hale-agent exec: " + message + "\n";
  if (::write(o.stderr_fd, line.data(), line.size()) < 0) return;
}

std::atomic<int> g_interrupt{0};
extern "C" void onInterrupt(int sig) { g_interrupt = sig; }

// SIGINT/SIGTERM/SIGHUP are passed on to the step and end the retry loop.
void forwardInterrupts() {
  struct sigaction sa = {};
  sa.sa_handler = onInterrupt;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

bool interrupted(const ExecOptions& o) { return o.interrupt && *o.interrupt != 0; }

// Backoff sleeps can be long; an interrupt must not wait for them to end.
void sleepUnlessInterrupted(const ExecOptions& o, std::chrono::milliseconds delay) {
  const auto until = std::chrono::steady_clock::now() + delay;
  while (!interrupted(o) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - std::chrono::steady_clock::now(),
                                                                              std::chrono::milliseconds(20)));
}

BuildAttempt attemptRecord(const std::vector<std::string>& command, int attempt, const StepResult& r,
                           const Diagnosis& d, const Classifier* classifier) {
  BuildAttempt a;
  a.command = command;
  a.attempt = attempt;
  a.exit_code = r.exit_code;
  a.timed_out = r.timed_out;
  a.duration = r.duration;
  a.category = d.category;
  a.secondary = d.secondary;
  a.confidence = d.confidence;
  a.explanation = d.explanation;
  a.evidence = d.evidence;
  if (classifier) a.tail = classifier->tail();
  return a;
}

}  // namespace

int runExec(const ExecOptions& options, const KnowledgeBase* kb, BuildObserver* observer) {
  ExecOptions o = options;  // a remedy may change the environment and the time limit
  Backoff backoff(o.retry_delay, o.retry_cap);
  RemedyState state;
  std::vector<std::string> command = o.command;
  for (int attempt = 1;; ++attempt) {
    StepOptions step{o.timeout, o.kill_grace, o.stdout_fd, o.stderr_fd, o.interrupt, o.env, o.clock};
    std::optional<Classifier> classifier;
    if (kb) classifier.emplace(*kb);
    const auto started = std::filesystem::file_time_type::clock::now();
    const StepResult r = runStep(command, step, classifier ? &*classifier : nullptr);
    if (!r.spawn_error.empty()) say(o, r.spawn_error);
    if (r.exit_code == 0) {
      if (observer) observer->onAttempt(attemptRecord(command, attempt, r, Diagnosis{}, nullptr));
      return 0;
    }
    const Diagnosis d = diagnoseAttempt(o, started, classifier ? &*classifier : nullptr, command, r);
    BuildAttempt a = attemptRecord(command, attempt, r, d, classifier ? &*classifier : nullptr);
    Plan plan;
    if (o.policy != ExecPolicy::Off && attempt < o.max_attempts && !interrupted(o))
      plan = planRemedy(o, d, command, o.timeout, state);
    say(o, fmt::format("attempt {} failed (exit {}): {} ({:.2f}, {}) - {}", attempt, r.exit_code,
                       categoryName(d.category), d.confidence, decidedByName(d.decided_by), d.explanation));
    if (!d.refused.empty()) say(o, "refused: " + d.refused);
    if (!plan.note.empty()) say(o, plan.note);
    if (plan.refused != Remedy::None) {
      say(o, fmt::format("policy {}: not applying {}: {}", o.policy_name, remedyName(plan.refused), plan.refusal));
      a.refused = plan.refused;
      a.refusal = plan.refusal;
    }
    if (o.policy == ExecPolicy::DryRun && plan.remedy != Remedy::None) {
      say(o, fmt::format("dry-run: would apply {}", remedyName(plan.remedy)));
      plan.remedy = Remedy::None;
    }
    a.remedy = plan.remedy;
    if (observer) observer->onAttempt(a);
    if (plan.remedy == Remedy::None) return r.exit_code;
    const auto delay = plan.remedy == Remedy::Retry ? backoff.next() : std::chrono::milliseconds(0);
    say(o, fmt::format("applying {}; attempt {} of {} in {} ms", remedyName(plan.remedy), attempt + 1, o.max_attempts,
                       delay.count()));
    sleepUnlessInterrupted(o, delay);
    if (interrupted(o)) return 128 + *o.interrupt;
    command = std::move(plan.next_command);
    for (auto& [name, value] : plan.next_env) {
      const auto same = std::find_if(o.env.begin(), o.env.end(), [&](const auto& kv) { return kv.first == name; });
      if (same != o.env.end())
        same->second = std::move(value);
      else
        o.env.emplace_back(std::move(name), std::move(value));
    }
    if (plan.next_timeout) o.timeout = plan.next_timeout;
  }
}

std::string parseExecArgs(const std::vector<std::string>& args, ExecOptions& o) {
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size() || args[i + 1] == "--") return a + ": missing value (or unknown option)";
    const std::string& v = args[++i];
    const auto duration = [&](auto& out) {
      const auto d = config::parseDuration(v);
      if (d) out = *d;
      return d.has_value();
    };
    if (a == "--policy") {
      if (v == "auto")
        o.policy = ExecPolicy::Auto;
      else if (v == "dry-run")
        o.policy = ExecPolicy::DryRun;
      else if (v == "off")
        o.policy = ExecPolicy::Off;
      else if (!v.empty() && v[0] != '-')
        o.policy_name = v;
      else
        return "bad policy " + v + " (auto, dry-run, off or a [[build_policy]] name)";
    } else if (a == "--timeout") {
      std::chrono::milliseconds t{0};
      if (!duration(t)) return "bad --timeout " + v;
      o.timeout = t;
    } else if (a == "--max-attempts") {
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.max_attempts);
      if (ec != std::errc() || p != v.data() + v.size() || o.max_attempts < 1 || o.max_attempts > 10)
        return "--max-attempts must be 1..10";
    } else if (a == "--patterns")
      o.pattern_paths.push_back(v);
    else if (a == "--retry-delay") {
      if (!duration(o.retry_delay)) return "bad --retry-delay " + v;
    } else if (a == "--kill-grace") {
      if (!duration(o.kill_grace)) return "bad --kill-grace " + v;
    } else if (a == "--free-disk-cmd")
      o.free_disk_command = {v};
    else if (a == "--junit")
      o.junit_reports.push_back(v);
    else
      return "unknown option " + a;
  }
  if (i >= args.size() || i + 1 >= args.size()) return "no command given after --";
  o.command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  return {};
}

int runExecCommand(const std::vector<std::string>& args, BuildObserver* observer,
                   const std::function<std::string(ExecOptions&)>& resolve_policy) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a vanished log reader must not kill the wrapper mid-step
  ExecOptions o;
  if (const std::string error = parseExecArgs(args, o); !error.empty()) {
    std::fprintf(stderr, "hale-agent exec: %s\n%s", error.c_str(), kUsage.data());
    return 2;
  }
  if (!o.policy_name.empty()) {
    const std::string error =
        resolve_policy ? resolve_policy(o) : "policy " + o.policy_name + " needs an agent configuration (--config)";
    if (!error.empty()) {
      std::fprintf(stderr, "hale-agent exec: %s\n", error.c_str());
      return 2;
    }
  }
  if (const char* hook = std::getenv("HALE_FREE_DISK_CMD"); hook && *hook && o.free_disk_command.empty())
    o.free_disk_command = {hook};
  if (o.pattern_paths.empty()) o.pattern_paths = defaultPatternDirs();
  // Never destroyed: the process ends after the step, and freeing the automata
  // (hundreds of thousands of small RE2 nodes) added about 10 ms to every step.
  static auto* const kept = new std::optional<KnowledgeBase>();
  std::optional<KnowledgeBase>& kb = *kept;
  kb.reset();
  try {
    // Patterns are checked now; the automata are built while the step starts
    // (about 20 ms of CPU that would otherwise delay every step).
    if (!o.pattern_paths.empty()) {
      kb.emplace();
      for (const auto& path : o.pattern_paths) kb->load(path);
      kb->compileInBackground();
    }
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "hale-agent exec: %s\n", e.what());
    return 2;
  }
  if (!kb) say(o, "no pattern directory found; failures will not be diagnosed");
  forwardInterrupts();
  o.interrupt = &g_interrupt;
  return runExec(o, kb ? &*kb : nullptr, observer);
}

}  // namespace hale::agent::ci
