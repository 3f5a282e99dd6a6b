#pragma once
// Process facts from /proc, parsed by pure functions (tested on fixture trees
// through `proc_root`) and read through a narrow interface.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::platform {

struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  char state = '?';  ///< R, S, D, Z, T, ...
  std::string comm;
  std::string cmdline;  ///< arguments joined by spaces
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  ///< since boot; tells a reused pid from the original
  uint64_t rss_pages = 0;
};

/// Parses the one line of /proc/<pid>/stat. The command name may contain
/// spaces and parentheses, so it is taken up to the *last* ')'.
std::optional<ProcessInfo> parseProcStat(std::string_view line);

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  virtual std::vector<ProcessInfo> list() const = 0;
  virtual std::optional<ProcessInfo> get(int pid) const = 0;
  /// Direct children of `pid` (to count the zombies it does not reap); empty when unknown.
  virtual std::vector<int> children(int /*pid*/) const { return {}; }
};

/// Reads <proc_root>/<pid>/{stat,cmdline,task/<pid>/children}.
class ProcFsTable final : public ProcessTable {
 public:
  /// Without `with_cmdline`, ProcessInfo::cmdline stays empty: one read per
  /// process instead of two, which is most of a pidfile check's cost.
  explicit ProcFsTable(std::string proc_root = "/proc", bool with_cmdline = true)
      : root_(std::move(proc_root)), with_cmdline_(with_cmdline) {}
  std::vector<ProcessInfo> list() const override;
  std::optional<ProcessInfo> get(int pid) const override;
  /// <pid>/task/<pid>/children (CONFIG_PROC_CHILDREN): the main thread's children.
  std::vector<int> children(int pid) const override;

 private:
  std::string root_;
  bool with_cmdline_ = true;
};

/// Reads a pid from a pidfile: digits, optional trailing whitespace.
std::optional<int> readPidFile(const std::string& path);

}  // namespace hale::agent::platform
