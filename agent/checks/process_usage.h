#pragma once
// What the processes of a process check use, whichever way they were found
// (pidfile, name, command line, systemd unit, supervised child): resident
// memory, CPU share since the last run, and the zombies they leave, graded
// against the check's thresholds. Shared by the modes of process_check.cpp.
#include "agent/checks/check.h"
#include "agent/platform/process_table.h"
#include "shared/util/clock.h"

#include <unistd.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace hale::agent::checks {

/// rss_*_mb, cpu_*_percent and zombies_warn; validated when read.
struct UsageLimits {
  std::optional<double> rss_warn_mb, rss_crit_mb, cpu_warn, cpu_crit;
  std::optional<int64_t> zombies_warn;
  static UsageLimits read(const config::Fields& f);
};

struct Usage {
  size_t processes = 0;  ///< measured (not zombies)
  double rss_mb = 0;
  std::optional<double> cpu_percent;  ///< none on the first run or for processes new since the last
  size_t zombies = 0;
  CheckStatus status = CheckStatus::Ok;

  void addMetrics(Outcome& out) const;
  std::string zombieText() const;
  std::string text() const;
};

class UsageMeter {
 public:
  UsageMeter(const platform::ProcessTable& table, const Clock& clock, UsageLimits limits)
      : table_(table), clock_(clock), limits_(limits) {}

  /// Zombie children of live matches join `zombies`: a parent that does not reap them leaks pids.
  void addZombieChildren(const std::vector<platform::ProcessInfo>& procs, std::set<int>& zombies) const;
  /// Usage of `procs` with `zombies` counted; remembers their CPU ticks for the next run.
  Usage measure(const std::vector<platform::ProcessInfo>& procs, size_t zombies);
  /// Usage of one process (a unit's main pid, a supervised child) and its zombie children.
  Usage measurePid(int pid);

 private:
  std::optional<double> cpuPercent(const std::vector<platform::ProcessInfo>& procs);

  const platform::ProcessTable& table_;
  const Clock& clock_;
  UsageLimits limits_;
  std::map<std::pair<int, uint64_t>, uint64_t> cpu_prev_;  ///< (pid, start) -> utime+stime at the last run
  MonoTime cpu_prev_at_{};
  long ticks_per_s_ = ::sysconf(_SC_CLK_TCK);
  long page_size_ = ::sysconf(_SC_PAGESIZE);
};

}  // namespace hale::agent::checks
