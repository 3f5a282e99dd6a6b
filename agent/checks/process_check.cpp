// process: whether a process is running, found by pidfile or by name, and its
// memory use; or a supervised child the agent starts itself (argv), whose exit
// is seen at once through a pidfd and reported with its code or signal.
//
//   [[check]]
//   name = "broker"
//   kind = "process"
//   pidfile = "/run/mosquitto/mosquitto.pid"   # or: match_name = "mosquitto"
//   min_count = 1
//
//   [[check]]
//   name = "worker"
//   kind = "process"
//   argv = ["/usr/local/bin/worker", "--foreground"]   # supervised: restart it with action "restart"
#include "agent/checks/check.h"
#include "agent/platform/pid_watch.h"
#include "agent/platform/process_table.h"
#include "agent/platform/supervisor.h"

#include "shared/util/log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"pidfile", config::FieldType::String, "", "file holding the pid of the process"},
    {"match_name", config::FieldType::String, "", "process name (comm, as in ps -o comm) to look for"},
    {"match_cmdline", config::FieldType::String, "", "substring of the full command line to look for"},
    {"min_count", config::FieldType::Integer, "1", "fewer matching processes than this is critical"},
    {"rss_warn_mb", config::FieldType::Float, "", "resident memory (MiB, all matches) that warns"},
    {"rss_crit_mb", config::FieldType::Float, "", "resident memory (MiB, all matches) that is critical"},
    {"proc_root", config::FieldType::String, "/proc", "where procfs is mounted (tests point it at fixtures)"},
    {"argv", config::FieldType::StringArray, "", "supervised: the agent starts this program (absolute path) itself"},
    {"env", config::FieldType::StringArray, "", "supervised: extra environment, KEY=VALUE"},
    {"cwd", config::FieldType::String, "", "supervised: working directory"},
    {"crash_loop_exits", config::FieldType::Integer, "3", "supervised: this many exits within crash_loop_window is a crash loop"},
    {"crash_loop_window", config::FieldType::Duration, "60s", "supervised: window for crash_loop_exits"},
};

class ProcessCheck final : public Check {
 public:
  ProcessCheck(CommonSettings common, const config::Fields& f)
      : Check(std::move(common)),
        table_(f.str("proc_root")),
        pidfile_(f.optStr("pidfile")),
        match_name_(f.optStr("match_name")),
        match_cmdline_(f.optStr("match_cmdline")),
        min_count_(f.integer("min_count")),
        rss_warn_mb_(f.optNumber("rss_warn_mb")),
        rss_crit_mb_(f.optNumber("rss_crit_mb")) {
    if (f.has("argv")) {
      child_spec_ = platform::ChildSpec{f.strings("argv"), {}, f.optStr("cwd").value_or("")};
      if (f.has("env")) child_spec_->env = f.strings("env");
      if (child_spec_->argv.empty() || child_spec_->argv[0].empty() || child_spec_->argv[0][0] != '/')
        f.fail("argv", "argv[0] must be an absolute path");
    }
    crash_loop_exits_ = f.integer("crash_loop_exits");
    crash_loop_window_ = f.duration("crash_loop_window");
    const int targets = int(pidfile_.has_value()) + int(match_name_.has_value()) + int(match_cmdline_.has_value()) +
                        int(child_spec_.has_value());
    if (targets != 1) f.fail("pidfile", "give exactly one of pidfile, match_name, match_cmdline, argv");
    if (min_count_ < 0) f.fail("min_count", "must not be negative");
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

  Outcome run() override {
    if (child_spec_) return runSupervised();
    std::vector<platform::ProcessInfo> found;
    std::string target;
    if (pidfile_) {
      target = "pidfile " + *pidfile_;
      auto pid = platform::readPidFile(*pidfile_);
      if (!pid) return Outcome{Status::Crit, fmt::format("{}: missing or holds no pid", *pidfile_), {{"count", 0}}};
      if (auto info = table_.get(*pid); info && info->state != 'Z') found.push_back(*info);
    } else {
      target = match_name_ ? "name " + *match_name_ : "command line ~ " + *match_cmdline_;
      for (auto& p : table_.list()) {
        if (p.state == 'Z' || p.pid == self_) continue;
        const bool hit = match_name_ ? p.comm == *match_name_ : p.cmdline.find(*match_cmdline_) != std::string::npos;
        if (hit) found.push_back(std::move(p));
      }
    }
    uint64_t rss_pages = 0;
    for (const auto& p : found) rss_pages += p.rss_pages;
    const double rss_mb = static_cast<double>(rss_pages) * static_cast<double>(page_size_) / (1024.0 * 1024.0);
    Outcome out;
    out.metric("count", static_cast<double>(found.size())).metric("rss_mb", rss_mb);
    if (!found.empty()) out.metric("pid", found.front().pid);
    if (static_cast<int64_t>(found.size()) < min_count_) {
      out.status = Status::Crit;
      out.message = fmt::format("{}: {} running, expected at least {}", target, found.size(), min_count_);
      return out;
    }
    out.status = grade(rss_mb, rss_warn_mb_, rss_crit_mb_);
    out.message = fmt::format("{}: {} running (pid {}), {:.1f} MiB resident", target, found.size(),
                              found.empty() ? 0 : found.front().pid, rss_mb);
    return out;
  }

 private:
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
    if (pidfile_) return pids;
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

  Outcome runSupervised() const {
    Outcome out;
    if (!child_) return Outcome{Status::Unknown, "supervised child not started yet", {}};
    const auto restarts = child_->starts() > 0 ? child_->starts() - 1 : 0;
    const auto exits = child_->exitsWithin(crash_loop_window_);
    const bool loop = static_cast<int64_t>(exits) >= crash_loop_exits_;
    out.metric("restarts", static_cast<double>(restarts)).metric("exits_in_window", static_cast<double>(exits));
    const std::string loop_text =
        loop ? fmt::format("; crash loop: {} exits in {}", exits, config::formatDuration(crash_loop_window_)) : "";
    if (child_->running()) {
      out.metric("pid", child_->pid()).metric("count", 1);
      out.message = fmt::format("{}: pid {} running, {} restarts{}", child_spec_->argv[0], child_->pid(), restarts,
                                loop_text);
      return out;
    }
    out.status = Status::Crit;
    out.metric("count", 0);
    const auto exit = child_->lastExit();
    if (!exit) {
      out.message = fmt::format("{}: not running: {}", child_spec_->argv[0], start_error_);
    } else if (exit->signal) {
      out.metric("signal", exit->signal);
      out.message = fmt::format("{}: killed by signal {} after {}{}", child_spec_->argv[0], exit->signal,
                                config::formatDuration(exit->uptime), loop_text);
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
  platform::ProcFsTable table_;
  std::optional<std::string> pidfile_, match_name_, match_cmdline_;
  int64_t min_count_;
  std::optional<double> rss_warn_mb_, rss_crit_mb_;
  int self_ = static_cast<int>(::getpid());
  long page_size_ = ::sysconf(_SC_PAGESIZE);
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv&) {
  return std::make_unique<ProcessCheck>(std::move(common), fields);
}

}  // namespace

extern const CheckKind kProcessCheck;
const CheckKind kProcessCheck{"process", "a process found by pidfile, name or command line", kFields,
                                     Component::Compute, &make};

}  // namespace hale::agent::checks
