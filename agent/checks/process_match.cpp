// process, by pidfile, match_name or match_cmdline: how many are running,
// their memory, CPU share and zombies; each found pid is watched through a
// pidfd, so an exit is seen at once rather than at the next interval.
#include "agent/checks/process_modes.h"
#include "agent/platform/pid_watch.h"
#include "shared/util/log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

namespace hale::agent::checks {
namespace {

class MatchedProcessCheck final : public Check {
 public:
  MatchedProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock, ProcessSettings s)
      : Check(std::move(common)), table_(s.proc_root, f.has("match_cmdline")), meter_(table_, clock, s.limits),
        pidfile_(f.optStr("pidfile")), match_name_(f.optStr("match_name")), match_cmdline_(f.optStr("match_cmdline")),
        pidfile_reader_(pidfile_ ? std::optional<platform::PidFileReader>(*pidfile_) : std::nullopt),
        min_count_(f.integer("min_count")) {}

  void watch(asio::io_context& io, std::function<void()> trigger) override {
    // Found processes are watched through pidfds armed after each run (afterRun).
    exit_io_ = &io;
    exit_trigger_ = std::move(trigger);
  }

  Outcome run() override {
    std::vector<platform::ProcessInfo> found;
    std::set<int> zombies;
    std::string target;
    if (pidfile_) {
      target = "pidfile " + *pidfile_;
      auto pid = pidfile_reader_->read(pidfile_pid_gone_);
      pidfile_pid_gone_ = true;
      if (!pid)
        return Outcome{CheckStatus::Crit, fmt::format("{}: missing or holds no pid", *pidfile_), {{"count", 0}}};
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
        if (p.pid == self_ || !matches(p)) continue;
        if (p.state == 'Z') {
          zombies.insert(p.pid);
        } else {
          found.push_back(std::move(p));
        }
      }
    }
    meter_.addZombieChildren(found, zombies);
    const Usage use = meter_.measure(found, zombies.size());
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

  // Event-driven exit detection for processes the agent did not start: after
  // each run, a pidfd per found pid; its exit asks for a run at once, so a
  // crash is seen in milliseconds rather than at the next interval.
  void afterRun(const wire::ResultRecord& record) override {
    if (!exit_io_) return;
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

 private:
  bool matches(const platform::ProcessInfo& p) const {
    return match_name_ ? p.comm == *match_name_ : p.cmdline.find(*match_cmdline_) != std::string::npos;
  }

  std::vector<int> matchingPids() const {
    std::vector<int> pids;
    if (pidfile_) return pids;
    for (const auto& p : table_.list())
      if (p.state != 'Z' && p.pid != self_ && matches(p)) pids.push_back(p.pid);
    return pids;
  }

  platform::ProcFsTable table_;
  UsageMeter meter_;
  std::optional<std::string> pidfile_, match_name_, match_cmdline_;
  std::optional<platform::PidFileReader> pidfile_reader_;
  bool pidfile_pid_gone_ = false;  ///< the pid the pidfile gave last is not running: read it again
  int64_t min_count_;
  int self_ = static_cast<int>(::getpid());
  asio::io_context* exit_io_ = nullptr;
  std::function<void()> exit_trigger_;
  std::map<int, std::unique_ptr<platform::PidWatch>> exit_watches_;
  bool exit_watch_warned_ = false;
};

}  // namespace

CheckPtr makeMatchedProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock,
                                 ProcessSettings settings) {
  return std::make_shared<MatchedProcessCheck>(std::move(common), f, clock, std::move(settings));
}

}  // namespace hale::agent::checks
