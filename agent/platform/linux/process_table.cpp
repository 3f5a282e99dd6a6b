#include "agent/platform/process_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hale::agent::platform {
namespace {
// Plain read(2) into a small buffer: this runs for every process check every
// second, where an ifstream and a zeroed 64 KiB string cost more than the read.
std::optional<std::string> slurp(const std::string& path, size_t limit = 64 * 1024) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  while (out.size() < limit) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, limit - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Reads from offset 0 until EOF or `limit`; false on an error (ESRCH: the process is gone).
bool preadAll(int fd, std::string& out, size_t limit) {
  out.clear();
  char buf[4096];
  while (out.size() < limit) {
    const ssize_t n = ::pread(fd, buf, std::min(sizeof buf, limit - out.size()), static_cast<off_t>(out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

template <class T>
bool parseNumber(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::optional<ProcessInfo> parseProcStat(std::string_view line) {
  const size_t open = line.find('(');
  const size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcessInfo info;
  if (!parseNumber(line.substr(0, open > 0 ? open - 1 : 0), info.pid)) return std::nullopt;
  info.comm = std::string(line.substr(open + 1, close - open - 1));
  // Fields after the comm, numbered as in proc(5) starting at 3 (state).
  std::vector<std::string_view> f;
  size_t i = close + 1;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\n') ++j;
    if (j > i) f.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  // f[0] is field 3 (state); field N is f[N - 3].
  if (f.size() < 22) return std::nullopt;
  info.state = f[0].empty() ? '?' : f[0][0];
  if (!parseNumber(f[4 - 3], info.ppid) || !parseNumber(f[14 - 3], info.utime_ticks) ||
      !parseNumber(f[15 - 3], info.stime_ticks) || !parseNumber(f[22 - 3], info.start_ticks))
    return std::nullopt;
  if (f.size() > 24 - 3) {
    int64_t rss = 0;
    if (parseNumber(f[24 - 3], rss) && rss > 0) info.rss_pages = static_cast<uint64_t>(rss);
  }
  return info;
}

ProcFileCache::~ProcFileCache() {
  for (const auto& e : entries_) ::close(e.fd);
}

std::optional<std::string> ProcFileCache::read(const std::string& path, size_t limit) {
  std::string out;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->path != path) continue;
    if (preadAll(it->fd, out, limit)) return out;
    ::close(it->fd);  // the process is gone; a new one may have its pid
    entries_.erase(it);
    break;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  if (!preadAll(fd, out, limit)) {
    ::close(fd);
    return std::nullopt;
  }
  if (entries_.size() >= kMaxOpen) {
    ::close(entries_.front().fd);
    entries_.erase(entries_.begin());
  }
  entries_.push_back({path, fd});
  return out;
}

std::optional<ProcessInfo> ProcFsTable::get(int pid) const { return read(pid, true); }

std::optional<ProcessInfo> ProcFsTable::read(int pid, bool keep_open) const {
  const std::string dir = root_ + "/" + std::to_string(pid);
  auto stat = keep_open ? open_.read(dir + "/stat", 4096) : slurp(dir + "/stat", 4096);
  if (!stat) return std::nullopt;
  auto info = parseProcStat(*stat);
  if (!info) return std::nullopt;
  if (!with_cmdline_) return info;
  if (auto cmd = slurp(dir + "/cmdline")) {
    while (!cmd->empty() && cmd->back() == '\0') cmd->pop_back();
    for (char& c : *cmd)
      if (c == '\0') c = ' ';
    info->cmdline = std::move(*cmd);
  }
  return info;
}

std::vector<int> ProcFsTable::children(int pid) const {
  std::vector<int> out;
  const std::string p = std::to_string(pid);
  auto text = open_.read(root_ + "/" + p + "/task/" + p + "/children", 64 * 1024);
  if (!text) return out;
  std::string_view s(*text);
  while (!s.empty()) {
    const size_t sp = s.find_first_of(" \n");
    int child = 0;
    if (parseNumber(s.substr(0, sp), child) && child > 0) out.push_back(child);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
  }
  return out;
}

std::vector<ProcessInfo> ProcFsTable::list() const {
  std::vector<ProcessInfo> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    int pid = 0;
    const std::string name = entry.path().filename().string();
    if (!parseNumber(std::string_view(name), pid)) continue;
    if (auto info = read(pid, false)) out.push_back(std::move(*info));  // a process may exit mid-scan
  }
  return out;
}

std::optional<int> readPidFile(const std::string& path) {
  auto text = slurp(path, 64);
  if (!text) return std::nullopt;
  std::string_view s(*text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  int pid = 0;
  if (!parseNumber(s, pid) || pid <= 0) return std::nullopt;
  return pid;
}

std::optional<int> PidFileReader::read(bool last_pid_gone) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    pid_.reset();
    mtime_ns_ = -1;
    return std::nullopt;
  }
  const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  const bool same = mtime_ns == mtime_ns_ && static_cast<uint64_t>(st.st_dev) == dev_ &&
                    static_cast<uint64_t>(st.st_ino) == ino_ && static_cast<uint64_t>(st.st_size) == size_;
  if (same && !last_pid_gone) return pid_;
  pid_ = readPidFile(path_);
  dev_ = static_cast<uint64_t>(st.st_dev);
  ino_ = static_cast<uint64_t>(st.st_ino);
  size_ = static_cast<uint64_t>(st.st_size);
  mtime_ns_ = mtime_ns;
  return pid_;
}

}  // namespace hale::agent::platform
