#include "agent/platform/process_table.h"

#include <fcntl.h>
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

std::optional<ProcessInfo> ProcFsTable::get(int pid) const {
  const std::string dir = root_ + "/" + std::to_string(pid);
  auto stat = slurp(dir + "/stat", 4096);
  if (!stat) return std::nullopt;
  auto info = parseProcStat(*stat);
  if (!info) return std::nullopt;
  if (auto cmd = slurp(dir + "/cmdline")) {
    while (!cmd->empty() && cmd->back() == '\0') cmd->pop_back();
    for (char& c : *cmd)
      if (c == '\0') c = ' ';
    info->cmdline = std::move(*cmd);
  }
  return info;
}

std::vector<ProcessInfo> ProcFsTable::list() const {
  std::vector<ProcessInfo> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    int pid = 0;
    const std::string name = entry.path().filename().string();
    if (!parseNumber(std::string_view(name), pid)) continue;
    if (auto info = get(pid)) out.push_back(std::move(*info));  // a process may exit mid-scan
  }
  return out;
}

std::optional<int> readPidFile(const std::string& path) {
  auto text = slurp(path, 64);
  if (!text) return std::nullopt;
  std::string_view s(*text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  int pid = 0;
  if (!parseNumber(s, pid) || pid <= 0) return std::nullopt;
  return pid;
}

}  // namespace hale::agent::platform
