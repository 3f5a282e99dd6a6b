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

/// Keeps a few /proc files of the processes a check follows open between runs:
/// a pread at offset 0 re-reads one, a syscall instead of open + read + close,
/// and the descriptor stays bound to its process (once it is gone, reads fail
/// even if the pid is reused, and the path is opened afresh).
class ProcFileCache {
 public:
  ProcFileCache() = default;
  ProcFileCache(const ProcFileCache&) = delete;
  ProcFileCache& operator=(const ProcFileCache&) = delete;
  ~ProcFileCache();
  /// The whole file (at most `limit` bytes), or nullopt if it cannot be read.
  std::optional<std::string> read(const std::string& path, size_t limit);

 private:
  struct Entry {
    std::string path;
    int fd = -1;
  };
  static constexpr size_t kMaxOpen = 8;  // per check: its pids and their zombie children
  std::vector<Entry> entries_;
};

/// Reads <proc_root>/<pid>/{stat,cmdline,task/<pid>/children}.
class ProcFsTable final : public ProcessTable {
 public:
  /// Without `with_cmdline`, ProcessInfo::cmdline stays empty: one read per
  /// process instead of two, which is most of a pidfile check's cost.
  explicit ProcFsTable(std::string proc_root = "/proc", bool with_cmdline = true)
      : root_(std::move(proc_root)), with_cmdline_(with_cmdline) {}
  std::vector<ProcessInfo> list() const override;
  /// Files of a pid asked for by number stay open (ProcFileCache); a scan
  /// of every process (list) opens and closes as it goes.
  std::optional<ProcessInfo> get(int pid) const override;
  /// <pid>/task/<pid>/children (CONFIG_PROC_CHILDREN): the main thread's children.
  std::vector<int> children(int pid) const override;

 private:
  std::optional<ProcessInfo> read(int pid, bool keep_open) const;
  std::string root_;
  bool with_cmdline_ = true;
  mutable ProcFileCache open_;
};

/// Reads a pid from a pidfile: digits, optional trailing whitespace.
std::optional<int> readPidFile(const std::string& path);

/// readPidFile for a file read every second: re-read only when its inode,
/// size or modification time changed, or when the caller says the pid it
/// gave last is gone (a rewrite within one timestamp tick is not missed).
class PidFileReader {
 public:
  explicit PidFileReader(std::string path) : path_(std::move(path)) {}
  std::optional<int> read(bool last_pid_gone);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::optional<int> pid_;
  uint64_t dev_ = 0, ino_ = 0, size_ = 0;
  int64_t mtime_ns_ = -1;
};

}  // namespace hale::agent::platform
