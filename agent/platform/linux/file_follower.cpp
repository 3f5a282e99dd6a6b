#include "agent/platform/file_follower.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hale::agent::platform {

void LineSplitter::emit(std::string_view line, bool truncated, const LineFn& on_line) {
  if (!truncated && !line.empty() && line.back() == '\r') line.remove_suffix(1);
  on_line(line, truncated);
}

void LineSplitter::feed(std::string_view bytes, const LineFn& on_line) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    if (skipping_) {
      if (nl == std::string_view::npos) return;
      bytes.remove_prefix(nl + 1);
      skipping_ = false;
      continue;
    }
    const std::string_view piece = nl == std::string_view::npos ? bytes : bytes.substr(0, nl);
    if (partial_.empty() && nl != std::string_view::npos && piece.size() <= max_) {
      emit(piece, false, on_line);  // the common case: a whole line, no copy
      bytes.remove_prefix(nl + 1);
      continue;
    }
    const size_t room = max_ - partial_.size();
    if (piece.size() > room) {
      partial_.append(piece.substr(0, room));
      emit(partial_, true, on_line);
      partial_.clear();
      if (nl == std::string_view::npos) {
        skipping_ = true;  // the rest of this line is dropped as it arrives
        return;
      }
      bytes.remove_prefix(nl + 1);
      continue;
    }
    partial_.append(piece);
    if (nl == std::string_view::npos) return;
    emit(partial_, false, on_line);
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
}

size_t LineSplitter::blockPrefix(std::string_view bytes) const {
  if (skipping_ || !partial_.empty()) return 0;
  size_t end = bytes.rfind('\n');
  if (end == std::string_view::npos) return 0;
  ++end;
  // Up to the line holding a CR (per line, the CR before '\n' is dropped).
  if (const size_t cr = bytes.substr(0, end).find('\r'); cr != std::string_view::npos) {
    const size_t before = cr == 0 ? std::string_view::npos : bytes.rfind('\n', cr - 1);
    end = before == std::string_view::npos ? 0 : before + 1;
  }
  if (end <= max_ + 1) return end;        // no line in it can be longer than max_
  for (size_t start = 0; start < end;) {  // up to the first line that must be cut
    const size_t nl = bytes.find('\n', start);
    if (nl - start > max_) return start;
    start = nl + 1;
  }
  return end;
}

void LineSplitter::feed(std::string_view bytes, const LineFn& on_line, const BlockFn& on_block) {
  if (!on_block) return feed(bytes, on_line);
  while (!bytes.empty()) {
    if (const size_t n = blockPrefix(bytes)) {
      const std::string_view block = bytes.substr(0, n);
      on_block(block, static_cast<size_t>(std::count(block.begin(), block.end(), '\n')));
      bytes.remove_prefix(n);
      continue;
    }
    // An unfinished, over-long or CRLF line first, one line at a time.
    const size_t nl = bytes.find('\n');
    const size_t take = nl == std::string_view::npos ? bytes.size() : nl + 1;
    feed(bytes.substr(0, take), on_line);
    bytes.remove_prefix(take);
  }
}

void LineSplitter::flush(const LineFn& on_line) {
  if (!partial_.empty()) emit(partial_, false, on_line);
  reset();
}

void LineSplitter::reset() {
  partial_.clear();
  skipping_ = false;
}

FileFollower::FileFollower(std::string path, size_t max_line_bytes, bool from_start)
    : path_(std::move(path)), splitter_(max_line_bytes), from_start_(from_start) {}

FileFollower::~FileFollower() { close(); }

void FileFollower::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FileFollower::restore(const FollowPosition& position) {
  close();
  splitter_.reset();
  saved_ = position;
}

Status FileFollower::open(Start start) {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return makeError(fmt::format("{}: {}", path_, std::strerror(errno)), errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return makeError(fmt::format("{}: not a regular file", path_), EINVAL);
  }
  fd_ = fd;
  device_ = st.st_dev;
  inode_ = st.st_ino;
  const auto size = static_cast<uint64_t>(st.st_size);
  offset_ = start == Start::End ? size : 0;
  splitter_.reset();
  if (start == Start::Saved && saved_ && saved_->device == device_ && saved_->inode == inode_ &&
      saved_->offset <= size) {
    offset_ = saved_->offset;
    splitter_.setSkipping(saved_->skipping);
  }
  // A saved position of another inode, or past the end: the file was rotated or
  // truncated while nobody followed it, so all of it is new.
  saved_.reset();
  return {};
}

bool FileFollower::replacedOnDisk() const {
  struct stat st {};
  // A missing path: renamed away and not yet created again; the old file may
  // still be written to, so it stays open.
  if (::stat(path_.c_str(), &st) != 0) return false;
  return static_cast<uint64_t>(st.st_ino) != inode_ || static_cast<uint64_t>(st.st_dev) != device_;
}

Result<FollowStats> FileFollower::poll(size_t max_bytes, const LineSplitter::LineFn& on_line,
                                       const LineSplitter::BlockFn& on_block) {
  FollowStats stats;
  const LineSplitter::LineFn counted = [&](std::string_view line, bool truncated) {
    ++stats.lines;
    if (truncated) ++stats.truncated_lines;
    on_line(line, truncated);
  };
  LineSplitter::BlockFn counted_block;
  if (on_block)
    counted_block = [&](std::string_view lines, size_t count) {
      stats.lines += count;
      on_block(lines, count);
    };
  if (fd_ < 0) {
    const Start start = saved_ ? Start::Saved : (opened_once_ || from_start_) ? Start::Beginning : Start::End;
    opened_once_ = true;  // a file that appears later is new: read it whole
    if (auto st = open(start); !st) {
      if (st.error().code == ENOENT) {
        stats.missing = true;
        return stats;
      }
      return st.error();
    }
  }
  std::string buf(64 * 1024, '\0');
  size_t budget = max_bytes;
  for (;;) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return makeError(fmt::format("{}: {}", path_, std::strerror(errno)), errno);
    if (static_cast<uint64_t>(st.st_size) < offset_) {
      ++stats.truncations;
      offset_ = 0;
      splitter_.reset();
    }
    while (budget > 0) {
      const ssize_t n = ::pread(fd_, buf.data(), std::min(buf.size(), budget), static_cast<off_t>(offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return makeError(fmt::format("{}: {}", path_, std::strerror(errno)), errno);
      if (n == 0) break;
      offset_ += static_cast<uint64_t>(n);
      budget -= static_cast<size_t>(n);
      stats.bytes += static_cast<uint64_t>(n);
      splitter_.feed(std::string_view(buf.data(), static_cast<size_t>(n)), counted, counted_block);
    }
    if (budget == 0 || !replacedOnDisk()) {
      if (::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) > offset_)
        stats.backlog = static_cast<uint64_t>(st.st_size) - offset_;
      return stats;
    }
    // Drained to EOF and the path names a new file: the old one is done.
    splitter_.flush(counted);
    close();
    ++stats.rotations;
    if (auto opened = open(Start::Beginning); !opened) {
      if (opened.error().code == ENOENT) return stats;
      return opened.error();
    }
  }
}

std::optional<FollowPosition> FileFollower::position() const {
  if (fd_ < 0) return saved_;
  return FollowPosition{device_, inode_, offset_ - splitter_.pending(), splitter_.skipping()};
}

}  // namespace hale::agent::platform
