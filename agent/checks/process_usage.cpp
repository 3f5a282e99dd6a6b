#include "agent/checks/process_usage.h"

#include <fmt/format.h>

#include <algorithm>

namespace hale::agent::checks {

UsageLimits UsageLimits::read(const config::Fields& f) {
  UsageLimits l{f.optNumber("rss_warn_mb"), f.optNumber("rss_crit_mb"), f.optNumber("cpu_warn_percent"),
                f.optNumber("cpu_crit_percent"), f.optInteger("zombies_warn")};
  if (l.cpu_warn && *l.cpu_warn < 0) f.fail("cpu_warn_percent", "must not be negative");
  if (l.cpu_crit && *l.cpu_crit < 0) f.fail("cpu_crit_percent", "must not be negative");
  if (l.cpu_warn && l.cpu_crit && *l.cpu_warn > *l.cpu_crit)
    f.fail("cpu_warn_percent", fmt::format("must not exceed cpu_crit_percent ({})", *l.cpu_crit));
  if (l.zombies_warn && *l.zombies_warn < 1) f.fail("zombies_warn", "must be at least 1");
  return l;
}

void Usage::addMetrics(Outcome& out) const {
  out.metric("rss_mb", rss_mb);
  if (cpu_percent) out.metric("cpu_percent", *cpu_percent);
  out.metric("zombies", static_cast<double>(zombies));
}

std::string Usage::zombieText() const { return zombies ? fmt::format(", {} zombies", zombies) : ""; }

std::string Usage::text() const {
  std::string t = fmt::format("{:.1f} MiB resident", rss_mb);
  if (cpu_percent) t += fmt::format(", cpu {:.1f}%", *cpu_percent);
  return t + zombieText();
}

void UsageMeter::addZombieChildren(const std::vector<platform::ProcessInfo>& procs, std::set<int>& zombies) const {
  for (const auto& p : procs)
    for (int child : table_.children(p.pid))
      if (!zombies.contains(child))
        if (auto info = table_.get(child); info && info->state == 'Z' && info->ppid == p.pid) zombies.insert(child);
}

Usage UsageMeter::measure(const std::vector<platform::ProcessInfo>& procs, size_t zombies) {
  Usage u;
  u.processes = procs.size();
  uint64_t rss_pages = 0;
  for (const auto& p : procs) rss_pages += p.rss_pages;
  u.rss_mb = static_cast<double>(rss_pages) * static_cast<double>(page_size_) / (1024.0 * 1024.0);
  u.cpu_percent = cpuPercent(procs);
  u.zombies = zombies;
  u.status = grade(u.rss_mb, limits_.rss_warn_mb, limits_.rss_crit_mb);
  if (u.cpu_percent) u.status = std::max(u.status, grade(*u.cpu_percent, limits_.cpu_warn, limits_.cpu_crit));
  if (limits_.zombies_warn && static_cast<int64_t>(zombies) >= *limits_.zombies_warn)
    u.status = std::max(u.status, CheckStatus::Warn);
  return u;
}

Usage UsageMeter::measurePid(int pid) {
  std::vector<platform::ProcessInfo> procs;
  if (pid > 0)
    if (auto info = table_.get(pid)) procs.push_back(*info);
  std::set<int> zombies;
  addZombieChildren(procs, zombies);
  return measure(procs, zombies.size());
}

// utime+stime ticks since the last run over the wall time between them, for
// processes seen both times (pid and start time, so a reused pid is new).
std::optional<double> UsageMeter::cpuPercent(const std::vector<platform::ProcessInfo>& procs) {
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

}  // namespace hale::agent::checks
