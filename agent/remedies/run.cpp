// run: a program from the allowlist, as argv (never a shell), with a timeout,
// extra environment and a working directory.
//
//   [[check.remedy]]
//   action = "run"
//   argv = ["/usr/local/bin/flush-queue", "--all"]
//   env = ["QUEUE=builds"]
//   cwd = "/var/lib/queue"
//   timeout = "30s"
//   user = "nobody"        # only when the agent runs as root
#include "agent/platform/program_run.h"
#include "agent/remedies/remedy.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

namespace hale::agent::remedies {

ActionResult runAndReport(const platform::ProgramSpec& spec) {
  ActionResult r;
  r.argv = spec.argv;
  const auto start = std::chrono::steady_clock::now();
  auto run = platform::runProgram(spec);
  r.duration = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
  if (!run) {
    r.exit_code = -1;
    r.detail = run.error().message;
    return r;
  }
  r.exit_code = run->exit_code;
  r.output_tail = tail(run->output);
  if (run->timed_out) {
    r.detail = fmt::format("timed out after {}", config::formatDuration(spec.timeout));
  } else if (run->term_signal) {
    r.detail = fmt::format("killed by signal {}", run->term_signal);
  } else {
    r.ok = run->exit_code == 0;
    r.detail = fmt::format("exited {}", run->exit_code);
  }
  return r;
}

std::vector<std::string> contextEnv(const ActionContext& ctx) {
  return {"HALE_CHECK=" + ctx.check,
          "HALE_CHECK_KIND=" + ctx.check_kind,
          "HALE_ISSUE_ID=" + std::to_string(ctx.issue_id),
          "HALE_ATTEMPT_ID=" + std::to_string(ctx.attempt_id),
          "HALE_STATUS=" + ctx.status,
          "HALE_MESSAGE=" + ctx.message,
          "HALE_REASON=" + ctx.reason};
}

platform::ProgramSpec programSpecFrom(const config::Fields& f) {
  platform::ProgramSpec spec;
  spec.argv = f.strings("argv");
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/')
    f.fail("argv", "argv[0] must be an absolute path");
  if (f.has("env")) spec.env = f.strings("env");
  for (const auto& kv : spec.env)
    if (kv.find('=') == std::string::npos || kv.front() == '=') f.fail("env", "expected KEY=VALUE, got '" + kv + "'");
  spec.cwd = f.optStr("cwd").value_or("");
  spec.timeout = f.duration("timeout");
  if (spec.timeout.count() <= 0) f.fail("timeout", "must be positive");
  if (auto user = f.optStr("user")) {
    // Resolved once, at load: a typo is a config error, not a failed repair at 3 am.
    const passwd* pw = ::getpwnam(user->c_str());
    if (!pw) f.fail("user", fmt::format("no user '{}' on this system", *user));
    if (::geteuid() != 0) f.fail("user", "running as another user needs the agent to run as root");
    spec.uid = pw->pw_uid;
    spec.gid = pw->pw_gid;
    std::vector<std::string> env{"HOME=" + std::string(pw->pw_dir), "USER=" + *user, "LOGNAME=" + *user};
    env.insert(env.end(), spec.env.begin(), spec.env.end());
    spec.env = std::move(env);
  }
  return spec;
}

namespace {

constexpr config::FieldSpec kFields[] = {
    {"argv", config::FieldType::StringArray, "", "program (absolute path, on the allowlist) and arguments", true},
    {"env", config::FieldType::StringArray, "", "extra environment, KEY=VALUE"},
    {"cwd", config::FieldType::String, "", "working directory"},
    {"timeout", config::FieldType::Duration, "60s", "the program's process group is killed after this"},
    {"user", config::FieldType::String, "", "run as this user (the agent must run as root)"},
};

class RunAction final : public Action {
 public:
  RunAction(const config::Fields& f, bool hook) : spec_(programSpecFrom(f)), hook_(hook) {}

  ActionResult execute(const ActionContext& ctx) override {
    platform::ProgramSpec spec = spec_;
    if (hook_) {
      auto env = contextEnv(ctx);
      env.insert(env.end(), spec.env.begin(), spec.env.end());
      spec.env = std::move(env);
    }
    return runAndReport(spec);
  }
  std::vector<std::string> programs() const override { return {spec_.argv[0]}; }
  std::string describe() const override {
    std::string line = hook_ ? "hook" : "run";
    for (const auto& a : spec_.argv) line += " " + a;
    return line;
  }

 private:
  platform::ProgramSpec spec_;
  bool hook_;
};

ActionPtr make(const config::Fields& fields, const ActionEnv&) { return std::make_unique<RunAction>(fields, false); }
ActionPtr makeHook(const config::Fields& fields, const ActionEnv&) { return std::make_unique<RunAction>(fields, true); }

}  // namespace

extern const ActionKind kRunAction;
const ActionKind kRunAction{"run", "run an allowlisted program (argv, timeout, env, cwd; never a shell)", kFields,
                            &make};

// hook: the same, with the issue's context in HALE_CHECK, HALE_CHECK_KIND,
// HALE_ISSUE_ID, HALE_ATTEMPT_ID, HALE_STATUS, HALE_MESSAGE and HALE_REASON.
// It shares run's keys, hence one file for both.
extern const ActionKind kHookAction;
const ActionKind kHookAction{"hook", "run a user program with the issue's context in HALE_* variables", kFields,
                             &makeHook};

}  // namespace hale::agent::remedies
