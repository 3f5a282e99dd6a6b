#pragma once
// Parsers for the system-wide /proc files the system check reads. They are pure
// functions over the file text (osquery's parseAptSourceLine pattern), tested
// on fixture trees; nullopt means the text was not in the expected shape.
#include <cstdint>
#include <optional>
#include <string_view>

namespace hale::agent::platform {

struct LoadAvg {
  double one = 0, five = 0, fifteen = 0;
  int64_t runnable = 0, threads = 0;
};
/// /proc/loadavg: "0.52 0.58 0.59 1/345 12345".
std::optional<LoadAvg> parseLoadAvg(std::string_view text);

/// Jiffies from the aggregate "cpu" line of /proc/stat.
struct CpuTimes {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  uint64_t total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
  uint64_t idleAll() const { return idle + iowait; }
};
std::optional<CpuTimes> parseCpuTimes(std::string_view stat);
/// Number of "cpuN" lines in /proc/stat (online CPUs); 0 when none.
int countCpus(std::string_view stat);
/// Busy share (%) of the CPU time between two samples; nullopt when no time passed
/// or the counters went backwards (a different machine or a fixture swap).
std::optional<double> cpuBusyPercent(const CpuTimes& before, const CpuTimes& after);

struct MemInfo {
  uint64_t total_kb = 0;
  uint64_t available_kb = 0;  ///< MemAvailable, or an estimate on kernels before 3.14
  uint64_t swap_total_kb = 0;
  uint64_t swap_free_kb = 0;
  bool estimated = false;  ///< available_kb is MemFree + Buffers + Cached
};
std::optional<MemInfo> parseMemInfo(std::string_view text);

/// One /proc/pressure/{cpu,memory,io} file: the avg10 percentages.
struct Pressure {
  double some_avg10 = 0;
  std::optional<double> full_avg10;  ///< absent for cpu on kernels before 5.13
};
std::optional<Pressure> parsePressure(std::string_view text);

}  // namespace hale::agent::platform
