// process, supervised (argv): a child the agent starts itself. Its exit is
// seen at once through a pidfd and reported with its code or signal, as an OOM
// kill when its memory cgroup's oom_kill counter grew, and as a crash loop
// when it exits too often; `restart` remedies restart it with a crash-loop
// backoff.
#include "agent/checks/process_modes.h"
#include "agent/platform/cgroup.h"

#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace hale::agent::checks {
namespace {

/// The user a child runs as, and its home directory.
std::pair<platform::ChildSpec::RunAs, std::string> resolveUser(const config::Fields& f) {
  const std::string name = f.str("user");
  if (::geteuid() != 0)
    f.fail("user", fmt::format("running the child as '{}' needs the agent to run as root (it runs as uid {})", name,
                               ::geteuid()));
  std::vector<char> buf(16 * 1024);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) f.fail("user", fmt::format("cannot look up user '{}': {}", name, std::strerror(rc)));
  if (!found) f.fail("user", fmt::format("unknown user '{}'", name));
  return {platform::ChildSpec::RunAs{name, pw.pw_uid, pw.pw_gid}, pw.pw_dir ? pw.pw_dir : "/"};
}

class SupervisedProcessCheck final : public Check {
 public:
  SupervisedProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock, ProcessSettings s,
                         platform::ChildSpec spec)
      : Check(std::move(common)), spec_(std::move(spec)), crash_loop_exits_(f.integer("crash_loop_exits")),
        crash_loop_window_(f.duration("crash_loop_window")), proc_root_(s.proc_root),
        cgroup_root_(f.str("cgroup_root")), table_(s.proc_root, false), meter_(table_, clock, s.limits) {
    // The child inherits the agent's cgroup: a baseline for a child that dies before its first run.
    oom_file_ = platform::findOomCounterFile(proc_root_, "self", cgroup_root_);
    oom_before_ = platform::readOomKill(oom_file_);
  }

  void watch(asio::io_context& io, std::function<void()> trigger) override {
    bool created = false;
    child_ = platform::adoptSupervisedChild(name(), io, spec_, created);
    child_->onExit([trigger](const platform::ChildExit&) { trigger(); });
    if (created || (!child_->running() && child_->starts() == 0)) {
      if (auto ok = child_->start(); !ok) start_error_ = ok.error().message;
    }
  }

  Outcome run() override {
    if (!child_) return Outcome{CheckStatus::Unknown, "supervised child not started yet", {}};
    Outcome out;
    const auto restarts = child_->starts() > 0 ? child_->starts() - 1 : 0;
    const auto exits = child_->exitsWithin(crash_loop_window_);
    const bool loop = static_cast<int64_t>(exits) >= crash_loop_exits_;
    out.metric("restarts", static_cast<double>(restarts)).metric("exits_in_window", static_cast<double>(exits));
    const std::string loop_text =
        loop ? fmt::format("; crash loop: {} exits in {}", exits, config::formatDuration(crash_loop_window_)) : "";
    const std::string& program = spec_.argv[0];
    if (const int pid = child_->pid(); pid > 0) {
      trackOomCounter(pid);
      const Usage use = meter_.measurePid(pid);
      out.metric("pid", pid).metric("count", 1);
      use.addMetrics(out);
      out.status = use.status;
      out.message = fmt::format("{}: pid {} running, {} restarts{}", program, pid, restarts, loop_text);
      if (use.processes > 0) out.message += ", " + use.text();
      return out;
    }
    out.status = CheckStatus::Crit;
    out.metric("count", 0);
    const auto exit = child_->lastExit();
    if (!exit) {
      out.message = fmt::format("{}: not running: {}", program, start_error_);
    } else if (exit->signal) {
      out.metric("signal", exit->signal);
      if (exit->signal == SIGKILL) judgeOomKill();
      if (exit->signal == SIGKILL && oom_known_) out.metric("oom_kill", oom_killed_ ? 1 : 0);
      const std::string how = exit->signal == SIGKILL && oom_killed_ ? "killed by the OOM killer (signal 9)"
                                                                     : fmt::format("killed by signal {}", exit->signal);
      out.message = fmt::format("{}: {} after {}{}", program, how, config::formatDuration(exit->uptime), loop_text);
    } else {
      out.metric("exit_code", exit->exit_code);
      out.message = fmt::format("{}: exited with code {} after {}{}", program, exit->exit_code,
                                config::formatDuration(exit->uptime), loop_text);
    }
    return out;
  }

 private:
  // An exit by SIGKILL is an OOM kill when the cgroup's counter grew since the
  // child was last seen running; judged once per exit.
  void judgeOomKill() {
    const uint64_t exit_of = child_->starts();
    if (oom_judged_ == exit_of) return;
    oom_judged_ = exit_of;
    const auto after = platform::readOomKill(oom_file_);
    oom_known_ = after.has_value() && oom_before_.has_value();
    oom_killed_ = oom_known_ && *after > *oom_before_;
    if (after) oom_before_ = after;
  }

  void trackOomCounter(int pid) {
    if (pid != oom_pid_) {
      oom_pid_ = pid;
      if (auto file = platform::findOomCounterFile(proc_root_, std::to_string(pid), cgroup_root_); !file.empty())
        oom_file_ = std::move(file);
    }
    if (auto n = platform::readOomKill(oom_file_)) oom_before_ = n;
  }

  platform::ChildSpec spec_;
  std::shared_ptr<platform::SupervisedChild> child_;
  std::string start_error_;
  int64_t crash_loop_exits_;
  Millis crash_loop_window_;
  std::string proc_root_, cgroup_root_;
  platform::ProcFsTable table_;
  UsageMeter meter_;
  std::string oom_file_;                ///< the child's memory.events / memory.oom_control
  std::optional<uint64_t> oom_before_;  ///< its oom_kill counter while the child ran
  int oom_pid_ = -1;
  uint64_t oom_judged_ = 0;  ///< starts() whose exit was judged
  bool oom_known_ = false, oom_killed_ = false;
};

}  // namespace

platform::ChildSpec readChildSpec(const config::Fields& f) {
  platform::ChildSpec spec{f.strings("argv"), {}, f.optStr("cwd").value_or(""), std::nullopt};
  if (f.has("user")) {
    auto [who, home] = resolveUser(f);
    // The login variables a service expects; `env` may still override them.
    spec.env = {"USER=" + who.user, "LOGNAME=" + who.user, "HOME=" + home};
    spec.run_as = std::move(who);
  }
  if (f.has("env"))
    for (auto& kv : f.strings("env")) spec.env.push_back(std::move(kv));
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/')
    f.fail("argv", "argv[0] must be an absolute path");
  return spec;
}

CheckPtr makeSupervisedProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock,
                                    ProcessSettings settings, platform::ChildSpec spec) {
  return std::make_shared<SupervisedProcessCheck>(std::move(common), f, clock, std::move(settings), std::move(spec));
}

}  // namespace hale::agent::checks
