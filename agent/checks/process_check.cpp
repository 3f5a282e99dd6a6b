// process: whether a process is running, found by pidfile or by name, its
// memory use, CPU share over the interval and the zombies it leaves; or a
// supervised child the agent starts itself (argv), whose exit is seen at once
// through a pidfd and reported with its code or signal, and as an OOM kill when
// its memory cgroup's oom_kill counter grew; or a systemd unit (`unit`), read
// through `systemctl show`: critical when not active, a warning when systemd
// restarted it since the last run.
//
//   [[check]]
//   name = "broker"
//   kind = "process"
//   pidfile = "/run/mosquitto/mosquitto.pid"   # or: match_name = "mosquitto"
//   min_count = 1
//   cpu_warn_percent = 80       # of one core, all matches together
//   zombies_warn = 5
//
//   [[check]]
//   name = "worker"
//   kind = "process"
//   argv = ["/usr/local/bin/worker", "--foreground"]   # supervised: restart it with action "restart"
//
//   [[check]]
//   name = "web"
//   kind = "process"
//   unit = "nginx.service"
#include "agent/checks/check.h"
#include "agent/checks/deadline.h"
#include "agent/platform/cgroup.h"
#include "agent/platform/pid_watch.h"
#include "agent/platform/process_table.h"
#include "agent/platform/supervisor.h"
#include "agent/platform/systemd_units.h"

#include "shared/util/log.h"

#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"pidfile", config::FieldType::String, "", "file holding the pid of the process"},
    {"match_name", config::FieldType::String, "", "process name (comm, as in ps -o comm) to look for"},
    {"match_cmdline", config::FieldType::String, "", "substring of the full command line to look for"},
    {"unit", config::FieldType::String, "",
     "a systemd unit (nginx.service): critical unless active, warns when NRestarts grew since the last run"},
    {"min_count", config::FieldType::Integer, "1", "fewer matching processes than this is critical"},
    {"rss_warn_mb", config::FieldType::Float, "", "resident memory (MiB, all matches) that warns"},
    {"rss_crit_mb", config::FieldType::Float, "", "resident memory (MiB, all matches) that is critical"},
    {"cpu_warn_percent", config::FieldType::Float, "",
     "CPU use (% of one core, all matches, user+system over the time since the last run) that warns"},
    {"cpu_crit_percent", config::FieldType::Float, "", "CPU use (% of one core) that is critical"},
    {"zombies_warn", config::FieldType::Integer, "",
     "this many zombies among the matches and their children warns (metric zombies)"},
    {"proc_root", config::FieldType::String, "/proc", "where procfs is mounted (tests point it at fixtures)"},
    {"cgroup_root", config::FieldType::String, "/sys/fs/cgroup",
     "supervised: where cgroupfs is mounted; a SIGKILL is reported as an OOM kill when the child's memory cgroup "
     "counted one (memory.events or v1 memory.oom_control)"},
    {"argv", config::FieldType::StringArray, "", "supervised: the agent starts this program (absolute path) itself"},
    {"env", config::FieldType::StringArray, "", "supervised: extra environment, KEY=VALUE"},
    {"cwd", config::FieldType::String, "", "supervised: working directory"},
    {"user", config::FieldType::String, "",
     "supervised: run the child as this user and its primary group (the agent must run as root; resolved when the "
     "config is read)"},
    {"crash_loop_exits", config::FieldType::Integer, "3",
     "supervised: this many exits within crash_loop_window is a crash loop"},
    {"crash_loop_window", config::FieldType::Duration, "60s", "supervised: window for crash_loop_exits"},
};

class ProcessCheck final : public Check {
 public:
  ProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock, const platform::SystemdUnits& units)
      : Check(std::move(common)), clock_(clock), units_(units), unit_(f.optStr("unit")), proc_root_(f.str("proc_root")),
        cgroup_root_(f.str("cgroup_root")), table_(f.str("proc_root"), f.has("match_cmdline")),
        pidfile_(f.optStr("pidfile")), match_name_(f.optStr("match_name")), match_cmdline_(f.optStr("match_cmdline")),
        pidfile_reader_(pidfile_ ? std::optional<platform::PidFileReader>(*pidfile_) : std::nullopt),
        min_count_(f.integer("min_count")), rss_warn_mb_(f.optNumber("rss_warn_mb")),
        rss_crit_mb_(f.optNumber("rss_crit_mb")), cpu_warn_(f.optNumber("cpu_warn_percent")),
        cpu_crit_(f.optNumber("cpu_crit_percent")), zombies_warn_(f.optInteger("zombies_warn")) {
    if (f.has("argv")) {
      child_spec_ = platform::ChildSpec{f.strings("argv"), {}, f.optStr("cwd").value_or(""), std::nullopt};
      if (f.has("user")) child_spec_->run_as = resolveUser(f);
      if (child_spec_->run_as) {
        // The login variables a service expects; `env` may still override them.
        const auto& who = *child_spec_->run_as;
        child_spec_->env = {"USER=" + who.user, "LOGNAME=" + who.user, "HOME=" + home_};
      }
      if (f.has("env"))
        for (auto& kv : f.strings("env")) child_spec_->env.push_back(std::move(kv));
      if (child_spec_->argv.empty() || child_spec_->argv[0].empty() || child_spec_->argv[0][0] != '/')
        f.fail("argv", "argv[0] must be an absolute path");
    }
    if (!child_spec_ && f.has("user")) f.fail("user", "only for a supervised child (argv)");
    crash_loop_exits_ = f.integer("crash_loop_exits");
    crash_loop_window_ = f.duration("crash_loop_window");
    const int targets = int(pidfile_.has_value()) + int(match_name_.has_value()) + int(match_cmdline_.has_value()) +
                        int(child_spec_.has_value()) + int(unit_.has_value());
    if (targets != 1) f.fail("pidfile", "give exactly one of pidfile, match_name, match_cmdline, argv, unit");
    if (unit_ && (unit_->empty() || unit_->front() == '-' || unit_->find_first_of(" \t\n/") != std::string::npos))
      f.fail("unit", "expected a unit name such as nginx.service");
    if (min_count_ < 0) f.fail("min_count", "must not be negative");
    if (cpu_warn_ && *cpu_warn_ < 0) f.fail("cpu_warn_percent", "must not be negative");
    if (cpu_crit_ && *cpu_crit_ < 0) f.fail("cpu_crit_percent", "must not be negative");
    if (cpu_warn_ && cpu_crit_ && *cpu_warn_ > *cpu_crit_)
      f.fail("cpu_warn_percent", fmt::format("must not exceed cpu_crit_percent ({})", *cpu_crit_));
    if (zombies_warn_ && *zombies_warn_ < 1) f.fail("zombies_warn", "must be at least 1");
    // The child inherits the agent's cgroup: a baseline for a child that dies before its first run.
    if (child_spec_) {
      oom_file_ = platform::findOomCounterFile(proc_root_, "self", cgroup_root_);
      oom_before_ = platform::readOomKill(oom_file_);
    }
  }

  void watch(asio::io_context& io, std::function<void()> trigger) override {
    if (!child_spec_) {
      // Found processes are watched through pidfds armed after each run (afterRun).
      exit_io_ = &io;
      exit_trigger_ = std::move(trigger);
      return;
    }
    bool created = false;
    child_ = platform::adoptSupervisedChild(name(), io, *child_spec_, created);
    child_->onExit([trigger](const platform::ChildExit&) { trigger(); });
    if (created || (!child_->running() && child_->starts() == 0)) {
      if (auto ok = child_->start(); !ok) start_error_ = ok.error().message;
    }
  }

  // systemctl is a program run with a deadline; the other targets only read /proc.
  bool blocking() const override { return unit_.has_value(); }

  Outcome run() override {
    if (child_spec_) return runSupervised();
    if (unit_) return runUnit();
    std::vector<platform::ProcessInfo> found;
    std::set<int> zombies;
    std::string target;
    if (pidfile_) {
      target = "pidfile " + *pidfile_;
      auto pid = pidfile_reader_->read(pidfile_pid_gone_);
      pidfile_pid_gone_ = true;
      if (!pid) return Outcome{CheckStatus::Crit, fmt::format("{}: missing or holds no pid", *pidfile_), {{"count", 0}}};
      if (auto info = table_.get(*pid)) {
        pidfile_pid_gone_ = info->state == 'Z';
        if (info->state == 'Z') {
          zombies.insert(info->pid);
        } else {
          found.push_back(*info);
        }
      }
    } else {
      target = match_name_ ? "name " + *match_name_ : "command line ~ " + *match_cmdline_;
      for (auto& p : table_.list()) {
        if (p.pid == self_) continue;
        const bool hit = match_name_ ? p.comm == *match_name_ : p.cmdline.find(*match_cmdline_) != std::string::npos;
        if (!hit) continue;
        if (p.state == 'Z') {
          zombies.insert(p.pid);
        } else {
          found.push_back(std::move(p));
        }
      }
    }
    addZombieChildren(found, zombies);
    const Usage use = usage(found, zombies.size());
    Outcome out;
    out.metric("count", static_cast<double>(found.size()));
    use.addMetrics(out);
    if (!found.empty()) out.metric("pid", found.front().pid);
    if (static_cast<int64_t>(found.size()) < min_count_) {
      out.status = CheckStatus::Crit;
      out.message =
          fmt::format("{}: {} running, expected at least {}{}", target, found.size(), min_count_, use.zombieText());
      return out;
    }
    out.status = use.status;
    out.message = fmt::format("{}: {} running (pid {}), {}", target, found.size(),
                              found.empty() ? 0 : found.front().pid, use.text());
    return out;
  }

 private:
  struct Usage {
    double rss_mb = 0;
    std::optional<double> cpu_percent;  ///< none on the first run or for processes new since the last
    size_t zombies = 0;
    CheckStatus status = CheckStatus::Ok;

    void addMetrics(Outcome& out) const {
      out.metric("rss_mb", rss_mb);
      if (cpu_percent) out.metric("cpu_percent", *cpu_percent);
      out.metric("zombies", static_cast<double>(zombies));
    }
    std::string zombieText() const { return zombies ? fmt::format(", {} zombies", zombies) : ""; }
    std::string text() const {
      std::string t = fmt::format("{:.1f} MiB resident", rss_mb);
      if (cpu_percent) t += fmt::format(", cpu {:.1f}%", *cpu_percent);
      return t + zombieText();
    }
  };

  // Zombie children of live matches: a parent that does not reap them leaks pids.
  void addZombieChildren(const std::vector<platform::ProcessInfo>& procs, std::set<int>& zombies) const {
    for (const auto& p : procs)
      for (int child : table_.children(p.pid))
        if (!zombies.contains(child))
          if (auto info = table_.get(child); info && info->state == 'Z' && info->ppid == p.pid) zombies.insert(child);
  }

  Usage usage(const std::vector<platform::ProcessInfo>& procs, size_t zombies) {
    Usage u;
    uint64_t rss_pages = 0;
    for (const auto& p : procs) rss_pages += p.rss_pages;
    u.rss_mb = static_cast<double>(rss_pages) * static_cast<double>(page_size_) / (1024.0 * 1024.0);
    u.cpu_percent = cpuPercent(procs);
    u.zombies = zombies;
    u.status = grade(u.rss_mb, rss_warn_mb_, rss_crit_mb_);
    if (u.cpu_percent) u.status = std::max(u.status, grade(*u.cpu_percent, cpu_warn_, cpu_crit_));
    if (zombies_warn_ && static_cast<int64_t>(zombies) >= *zombies_warn_) u.status = std::max(u.status, CheckStatus::Warn);
    return u;
  }

  // utime+stime ticks since the last run over the wall time between them, for
  // processes seen both times (pid and start time, so a reused pid is new).
  std::optional<double> cpuPercent(const std::vector<platform::ProcessInfo>& procs) {
    const MonoTime now = clock_.monoNow();
    std::map<std::pair<int, uint64_t>, uint64_t> ticks;
    uint64_t delta = 0;
    bool seen_before = false;
    for (const auto& p : procs) {
      const uint64_t t = p.utime_ticks + p.stime_ticks;
      ticks[{p.pid, p.start_ticks}] = t;
      if (auto it = cpu_prev_.find({p.pid, p.start_ticks}); it != cpu_prev_.end() && t >= it->second) {
        delta += t - it->second;
        seen_before = true;
      }
    }
    const double wall = std::chrono::duration<double>(now - cpu_prev_at_).count();
    std::optional<double> pct;
    if (seen_before && wall > 0) pct = static_cast<double>(delta) / static_cast<double>(ticks_per_s_) / wall * 100.0;
    cpu_prev_ = std::move(ticks);
    cpu_prev_at_ = now;
    return pct;
  }

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

  platform::ChildSpec::RunAs resolveUser(const config::Fields& f) {
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
    platform::ChildSpec::RunAs who{name, pw.pw_uid, pw.pw_gid};
    home_ = pw.pw_dir ? pw.pw_dir : "/";
    return who;
  }

  Outcome runUnit() {
    auto state = units_.show(*unit_, ownDeadline(common(), std::chrono::steady_clock::now()));
    if (!state) return Outcome{CheckStatus::Unknown, state.error().message, {}};
    const auto& u = *state;
    Outcome out;
    const bool up = u.active_state == "active" || u.active_state == "reloading";
    out.metric("count", up ? 1 : 0).metric("pid", u.main_pid);
    if (u.restarts) out.metric("restarts", static_cast<double>(*u.restarts));
    if (u.load_state == "not-found") {
      out.status = CheckStatus::Crit;
      out.message = fmt::format("{}: unit not found", *unit_);
      return out;
    }
    if (!up) {
      out.status = CheckStatus::Crit;
      out.message = fmt::format("{}: {} ({})", *unit_, u.active_state, u.sub_state);
      last_restarts_ = u.restarts;
      return out;
    }
    std::vector<platform::ProcessInfo> main;
    if (u.main_pid > 0)
      if (auto info = table_.get(u.main_pid)) main.push_back(*info);
    std::set<int> zombies;
    addZombieChildren(main, zombies);
    const Usage use = usage(main, zombies.size());
    use.addMetrics(out);
    out.status = use.status;
    out.message = fmt::format("{}: {} ({}), main pid {}", *unit_, u.active_state, u.sub_state, u.main_pid);
    if (u.restarts) out.message += fmt::format(", {} restarts", *u.restarts);
    if (u.restarts && last_restarts_ && *u.restarts > *last_restarts_) {
      out.status = std::max(out.status, CheckStatus::Warn);
      out.message += fmt::format(" ({} since the last run)", *u.restarts - *last_restarts_);
    }
    last_restarts_ = u.restarts;
    if (!main.empty()) out.message += ", " + use.text();
    return out;
  }

  // Event-driven exit detection for processes the agent did not start: after
  // each run, a pidfd per found pid; its exit asks for a run at once, so a
  // crash is seen in milliseconds rather than at the next interval.
  void afterRun(const wire::ResultRecord& record) override {
    if (!exit_io_ || child_spec_) return;
    double count = 0, pid = 0;
    for (const auto& m : record.metrics) {
      if (m.name == "count") count = m.value;
      if (m.name == "pid") pid = m.value;
    }
    std::vector<int> wanted;
    if (count >= 1 && pid > 0) {
      const auto n = static_cast<size_t>(count);
      if (n == 1) {
        wanted.push_back(static_cast<int>(pid));
      } else if (exit_watches_.size() == n && exit_watches_.contains(static_cast<int>(pid))) {
        return;  // the same matches as last time: no rescan
      } else {
        wanted = matchingPids();
      }
    }
    std::erase_if(exit_watches_,
                  [&](const auto& w) { return std::find(wanted.begin(), wanted.end(), w.first) == wanted.end(); });
    for (const int p : wanted) {
      if (exit_watches_.contains(p)) continue;
      auto w = platform::PidWatch::open(*exit_io_, p, exit_trigger_);
      if (w) {
        exit_watches_.emplace(p, std::move(*w));
      } else if (w.error().code == ESRCH) {
        exit_trigger_();  // gone between the run and now
      } else if (!exit_watch_warned_) {
        exit_watch_warned_ = true;  // e.g. a kernel without pidfd_open: the interval still catches exits
        log::warn("process", "cannot watch process exits; relying on the interval",
                  {{"check", name()}, {"error", w.error().message}});
      }
    }
  }

  std::vector<int> matchingPids() const {
    std::vector<int> pids;
    if (pidfile_ || unit_) return pids;
    for (const auto& p : table_.list()) {
      if (p.state == 'Z' || p.pid == self_) continue;
      if (match_name_ ? p.comm == *match_name_ : p.cmdline.find(*match_cmdline_) != std::string::npos)
        pids.push_back(p.pid);
    }
    return pids;
  }

  asio::io_context* exit_io_ = nullptr;
  std::function<void()> exit_trigger_;
  std::map<int, std::unique_ptr<platform::PidWatch>> exit_watches_;
  bool exit_watch_warned_ = false;

  Outcome runSupervised() {
    Outcome out;
    if (!child_) return Outcome{CheckStatus::Unknown, "supervised child not started yet", {}};
    const auto restarts = child_->starts() > 0 ? child_->starts() - 1 : 0;
    const auto exits = child_->exitsWithin(crash_loop_window_);
    const bool loop = static_cast<int64_t>(exits) >= crash_loop_exits_;
    out.metric("restarts", static_cast<double>(restarts)).metric("exits_in_window", static_cast<double>(exits));
    const std::string loop_text =
        loop ? fmt::format("; crash loop: {} exits in {}", exits, config::formatDuration(crash_loop_window_)) : "";
    if (const int pid = child_->pid(); pid > 0) {
      trackOomCounter(pid);
      std::vector<platform::ProcessInfo> me;
      if (auto info = table_.get(pid)) me.push_back(*info);
      std::set<int> zombies;
      addZombieChildren(me, zombies);
      const Usage use = usage(me, zombies.size());
      out.metric("pid", pid).metric("count", 1);
      use.addMetrics(out);
      out.status = use.status;
      out.message = fmt::format("{}: pid {} running, {} restarts{}", child_spec_->argv[0], pid, restarts, loop_text);
      if (!me.empty()) out.message += ", " + use.text();
      return out;
    }
    out.status = CheckStatus::Crit;
    out.metric("count", 0);
    const auto exit = child_->lastExit();
    if (!exit) {
      out.message = fmt::format("{}: not running: {}", child_spec_->argv[0], start_error_);
    } else if (exit->signal) {
      out.metric("signal", exit->signal);
      if (exit->signal == SIGKILL) judgeOomKill();
      if (exit->signal == SIGKILL && oom_known_) out.metric("oom_kill", oom_killed_ ? 1 : 0);
      const std::string how = exit->signal == SIGKILL && oom_killed_ ? "killed by the OOM killer (signal 9)"
                                                                     : fmt::format("killed by signal {}", exit->signal);
      out.message =
          fmt::format("{}: {} after {}{}", child_spec_->argv[0], how, config::formatDuration(exit->uptime), loop_text);
    } else {
      out.metric("exit_code", exit->exit_code);
      out.message = fmt::format("{}: exited with code {} after {}{}", child_spec_->argv[0], exit->exit_code,
                                config::formatDuration(exit->uptime), loop_text);
    }
    return out;
  }

  std::optional<platform::ChildSpec> child_spec_;
  std::shared_ptr<platform::SupervisedChild> child_;
  std::string start_error_;
  int64_t crash_loop_exits_ = 3;
  Millis crash_loop_window_{60'000};
  const Clock& clock_;
  const platform::SystemdUnits& units_;
  std::optional<std::string> unit_;
  std::string home_;                       ///< of the user a supervised child runs as
  std::optional<uint64_t> last_restarts_;  ///< NRestarts at the last run of a unit target
  std::string proc_root_, cgroup_root_;
  platform::ProcFsTable table_;
  std::optional<std::string> pidfile_, match_name_, match_cmdline_;
  std::optional<platform::PidFileReader> pidfile_reader_;
  bool pidfile_pid_gone_ = false;  ///< the pid the pidfile gave last is not running: read it again
  int64_t min_count_;
  std::optional<double> rss_warn_mb_, rss_crit_mb_, cpu_warn_, cpu_crit_;
  std::optional<int64_t> zombies_warn_;
  std::map<std::pair<int, uint64_t>, uint64_t> cpu_prev_;  ///< (pid, start) -> utime+stime at the last run
  MonoTime cpu_prev_at_{};
  long ticks_per_s_ = ::sysconf(_SC_CLK_TCK);
  std::string oom_file_;                ///< the child's memory.events / memory.oom_control
  std::optional<uint64_t> oom_before_;  ///< its oom_kill counter while the child ran
  int oom_pid_ = -1;
  uint64_t oom_judged_ = 0;  ///< starts() whose exit was judged
  bool oom_known_ = false, oom_killed_ = false;
  int self_ = static_cast<int>(::getpid());
  long page_size_ = ::sysconf(_SC_PAGESIZE);
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv& env) {
  return std::make_unique<ProcessCheck>(std::move(common), fields, env.clock, platform::realSystemdUnits());
}

}  // namespace

/// For tests: a process check whose unit target reads a fake systemd.
CheckPtr makeProcessCheckForTest(CommonSettings common, const config::Fields& fields, const Clock& clock,
                                 const platform::SystemdUnits& units) {
  return std::make_unique<ProcessCheck>(std::move(common), fields, clock, units);
}

extern const CheckKind kProcessCheck;
const CheckKind kProcessCheck{"process",
                              "a process found by pidfile, name, command line or systemd unit, or supervised", kFields,
                              Component::Compute, &make};

}  // namespace hale::agent::checks
