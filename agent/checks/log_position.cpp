#include "agent/checks/log_position.h"

#include "agent/platform/file_read.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

namespace hale::agent::checks {
namespace {

/// Splits off the next space-separated word of `text`.
std::string_view word(std::string_view& text) {
  const size_t end = text.find(' ');
  const std::string_view w = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  return w;
}

std::optional<uint64_t> number(std::string_view w) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
  if (w.empty() || ec != std::errc() || p != w.data() + w.size()) return std::nullopt;
  return v;
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return !s.empty();
}

}  // namespace

bool LogPosition::operator==(const LogPosition& o) const {
  if (source != o.source || cursor != o.cursor || file.has_value() != o.file.has_value()) return false;
  return !file || (file->device == o.file->device && file->inode == o.file->inode && file->offset == o.file->offset &&
                   file->skipping == o.file->skipping);
}

std::string formatLogPosition(const LogPosition& p) {
  if (p.file)
    return fmt::format("file {} {} {} {} {}\n", p.file->device, p.file->inode, p.file->offset, p.file->skipping ? 1 : 0,
                       p.source);
  return fmt::format("journal {} {}\n", p.source, p.cursor);
}

std::optional<LogPosition> parseLogPosition(std::string_view text) {
  if (text.empty() || text.back() != '\n') return std::nullopt;  // a complete line only
  text.remove_suffix(1);
  if (text.find('\n') != std::string_view::npos) return std::nullopt;
  const std::string_view kind = word(text);
  LogPosition p;
  if (kind == "file") {
    const auto dev = number(word(text)), ino = number(word(text)), off = number(word(text));
    const std::string_view skip = word(text);
    if (!dev || !ino || !off || (skip != "0" && skip != "1") || !printable(text)) return std::nullopt;
    p.file = platform::FollowPosition{*dev, *ino, *off, skip == "1"};
    p.source = std::string(text);  // the rest: a path may hold spaces
    return p;
  }
  if (kind == "journal") {
    p.source = std::string(word(text));
    p.cursor = std::string(text);
    if (!printable(p.source) || !printable(p.cursor) || p.cursor.find(' ') != std::string::npos) return std::nullopt;
    return p;
  }
  return std::nullopt;
}

std::string logPositionFile(const std::string& state_dir, const std::string& check) {
  return fmt::format("{}/log-positions/{}.pos", state_dir, check);
}

std::optional<LogPosition> loadLogPosition(const std::string& file) {
  auto text = platform::readFileCapped(file, 64 * 1024);
  if (!text) return std::nullopt;
  return parseLogPosition(*text);
}

Status saveLogPosition(const std::string& file, const LogPosition& position) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
  const std::string tmp = file + ".tmp";
  const std::string text = formatLogPosition(position);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return makeError(fmt::format("{}: {}", tmp, std::strerror(errno)), errno);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return makeError(fmt::format("{}: {}", file, std::strerror(written ? errno : err)), err);
  }
  return {};
}

}  // namespace hale::agent::checks
