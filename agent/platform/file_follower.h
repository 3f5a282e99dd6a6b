#pragma once
// Following a growing text file the way `tail -F` does, in bounded steps: each
// poll reads at most a given number of bytes and hands back complete lines.
//
// * Rotation by rename (logrotate's default): once the open file is drained to
//   EOF and the path names another inode, the new file is opened and read
//   from its start; the old file's unfinished last line is handed out first.
// * Truncation (copytruncate, `> file`): a file smaller than the read position
//   is read again from 0.
// * Restarts: position() is (device, inode, offset of the first byte not yet
//   handed out); restore() resumes there when the path still names that inode.
// * Memory: a line longer than max_line_bytes is handed out cut at that length
//   (truncated = true) and the rest of it is skipped, so a writer that never
//   ends a line costs max_line_bytes, not the file's size.
#include "shared/util/result.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hale::agent::platform {

/// Splits a byte stream into lines of at most max_line_bytes (without the
/// '\n' and a '\r' before it). Holds only the unfinished line.
class LineSplitter {
 public:
  using LineFn = std::function<void(std::string_view line, bool truncated)>;
  /// A run of `count` whole lines, each ended by '\n' (none cut, none with '\r').
  using BlockFn = std::function<void(std::string_view lines, size_t count)>;
  explicit LineSplitter(size_t max_line_bytes) : max_(max_line_bytes == 0 ? 1 : max_line_bytes) {}

  void feed(std::string_view bytes, const LineFn& on_line);
  /// The same lines, but runs of ordinary lines go to `on_block` in one call,
  /// so a caller can search many lines at once (the rest still go to `on_line`).
  void feed(std::string_view bytes, const LineFn& on_line, const BlockFn& on_block);
  /// Hands out the unfinished line, if any (its writer went away).
  void flush(const LineFn& on_line);
  /// Forgets the unfinished line and any line being skipped.
  void reset();
  /// Bytes received but not yet handed out (the unfinished line).
  size_t pending() const { return partial_.size(); }
  /// True while the rest of an over-long line is being skipped.
  bool skipping() const { return skipping_; }
  void setSkipping(bool skipping) { skipping_ = skipping; }

 private:
  void emit(std::string_view line, bool truncated, const LineFn& on_line);
  /// The length of the leading run of whole, ordinary lines of `bytes` (0: none).
  size_t blockPrefix(std::string_view bytes) const;
  size_t max_;
  std::string partial_;
  bool skipping_ = false;
};

struct FollowPosition {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t offset = 0;    ///< first byte not yet handed out as (part of) a line
  bool skipping = false;  ///< inside an over-long line already handed out cut
};

struct FollowStats {
  uint64_t bytes = 0;
  uint64_t lines = 0;
  uint64_t truncated_lines = 0;
  uint64_t rotations = 0;    ///< the path was renamed away and a new file opened
  uint64_t truncations = 0;  ///< the file shrank below the read position
  uint64_t backlog = 0;      ///< bytes left in the open file after this poll
  bool missing = false;      ///< the path does not exist and no file is open
};

class FileFollower {
 public:
  FileFollower(std::string path, size_t max_line_bytes, bool from_start);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  /// Resumes at a saved position on the next poll, if the path still names
  /// that inode; otherwise the path's file is read from its start (it was
  /// rotated while nobody followed it).
  void restore(const FollowPosition& position);

  /// Reads at most `max_bytes` new bytes, calling `on_line` for each line
  /// (and `on_block`, when given, for runs of ordinary lines: LineSplitter).
  /// Errors are for an existing file that cannot be read.
  Result<FollowStats> poll(size_t max_bytes, const LineSplitter::LineFn& on_line,
                           const LineSplitter::BlockFn& on_block = nullptr);

  /// Where a restarted follower should continue; nullopt before any file was opened.
  std::optional<FollowPosition> position() const;
  const std::string& path() const { return path_; }

 private:
  enum class Start { End, Beginning, Saved };
  Status open(Start start);
  bool replacedOnDisk() const;
  void close();

  std::string path_;
  LineSplitter splitter_;
  bool from_start_;
  std::optional<FollowPosition> saved_;
  int fd_ = -1;
  uint64_t device_ = 0, inode_ = 0, offset_ = 0;
  bool opened_once_ = false;
};

}  // namespace hale::agent::platform
