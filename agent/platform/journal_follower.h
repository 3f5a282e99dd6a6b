#pragma once
// Following a systemd unit's journal through a long-running
//   journalctl -u UNIT -f -o json --all --output-fields=MESSAGE,PRIORITY
//              (--after-cursor=C | -n 0 | --no-tail) [--directory=DIR]
// child, read without waiting from a non-blocking pipe. Why journalctl rather
// than libsystemd's sd-journal: the agent needs no libsystemd at link time and
// runs unchanged where there is no journal; `-u` matches exactly what an
// administrator's own `journalctl -u` shows (the unit's messages and systemd's
// about it), and journalctl copes with journal rotation, vacuuming and
// corrupt files. The pipe's 64 KiB are the only buffer: while the agent is not
// reading, journalctl blocks, so a burst costs no memory. Every entry carries
// its __CURSOR; the last one read is where a restarted follower resumes.
#include "agent/platform/file_follower.h"
#include "shared/util/result.h"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace hale::agent::platform {

/// One line of `journalctl -o json`.
struct JournalEntry {
  std::string message;  ///< MESSAGE as text; bytes (a non-UTF-8 message) as they were
  std::string cursor;   ///< __CURSOR; empty when missing
  int priority = -1;    ///< PRIORITY 0..7; -1 when missing or malformed
};

/// Parses one JSON line. MESSAGE may be a string, an array of byte values
/// (journalctl's form for non-UTF-8 data), an array of those (a field given
/// twice) or null (a field too large without --all): null and absent give an
/// empty message. Errors for what is not a JSON object.
Result<JournalEntry> parseJournalLine(std::string_view line);

struct JournalOptions {
  std::string unit;
  std::string cursor;       ///< resume after this entry; empty: see from_start
  bool from_start = false;  ///< without a cursor: the unit's whole journal, not only new entries
  std::string directory;    ///< journal files of this directory instead of the system's
  std::string journalctl = "journalctl";
  size_t max_line_bytes = 64 * 1024;
};

struct JournalStats {
  uint64_t bytes = 0;
  uint64_t entries = 0;
  uint64_t truncated = 0;  ///< JSON lines longer than max_line_bytes (matched as raw text)
  uint64_t started = 0;    ///< journalctl was (re)started by this poll
  std::string diagnostic;  ///< journalctl's last complaint or how it ended, if any
  bool running = false;
};

class JournalFollower {
 public:
  using EntryFn = std::function<void(std::string_view message, bool truncated)>;
  explicit JournalFollower(JournalOptions options);
  ~JournalFollower();
  JournalFollower(const JournalFollower&) = delete;
  JournalFollower& operator=(const JournalFollower&) = delete;

  /// Starts journalctl if it is not running, then hands out what it wrote,
  /// at most `max_bytes`, without waiting. A journalctl that ended is reaped
  /// and started again (after the last cursor) on the next poll.
  Result<JournalStats> poll(size_t max_bytes, const EntryFn& on_entry);
  /// The cursor of the last entry handed out (or the one given at start).
  const std::string& cursor() const { return options_.cursor; }
  pid_t pidForTest() const { return pid_; }

 private:
  Status start(JournalStats& stats);
  void line(std::string_view text, bool truncated, JournalStats& stats, const EntryFn& on_entry);
  void reap(JournalStats& stats, bool wait);
  void stop();

  JournalOptions options_;
  LineSplitter splitter_;
  pid_t pid_ = -1;
  int fd_ = -1;
};

}  // namespace hale::agent::platform
