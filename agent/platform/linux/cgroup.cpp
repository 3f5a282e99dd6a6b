#include "agent/platform/cgroup.h"
#include "agent/platform/file_read.h"

#include <charconv>

namespace hale::agent::platform {

std::vector<std::string> oomCounterFiles(std::string_view proc_cgroup, const std::string& cgroup_root) {
  std::vector<std::string> v2, v1;
  while (!proc_cgroup.empty()) {
    const size_t nl = proc_cgroup.find('\n');
    std::string_view line = proc_cgroup.substr(0, nl);
    proc_cgroup = nl == std::string_view::npos ? std::string_view{} : proc_cgroup.substr(nl + 1);
    // hierarchy-ID:controller-list:path
    const size_t a = line.find(':');
    const size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(a + 1, b - a - 1);
    std::string path(line.substr(b + 1));
    if (path.empty() || path[0] != '/' || path.find("..") != std::string::npos) continue;
    if (path == "/") path.clear();
    if (line.substr(0, a) == "0" && controllers.empty()) {
      v2.push_back(cgroup_root + path + "/memory.events");
    } else {
      for (std::string_view rest = controllers; !rest.empty();) {
        const size_t c = rest.find(',');
        if (rest.substr(0, c) == "memory") v1.push_back(cgroup_root + "/memory" + path + "/memory.oom_control");
        rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
      }
    }
  }
  v2.insert(v2.end(), v1.begin(), v1.end());
  return v2;
}

std::optional<uint64_t> parseOomKill(std::string_view text) {
  constexpr std::string_view kKey = "oom_kill ";
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    std::string_view line = text.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), n);
    if (ec != std::errc() || p == line.data()) return std::nullopt;
    return n;
  }
  return std::nullopt;
}

std::string findOomCounterFile(const std::string& proc_root, const std::string& pid, const std::string& cgroup_root) {
  auto text = readFileCapped(proc_root + "/" + pid + "/cgroup", 64 * 1024);
  if (!text) return "";
  for (const auto& file : oomCounterFiles(*text, cgroup_root))
    if (readOomKill(file)) return file;
  return "";
}

std::optional<uint64_t> readOomKill(const std::string& file) {
  if (file.empty()) return std::nullopt;
  auto text = readFileCapped(file, 16 * 1024);
  if (!text) return std::nullopt;
  return parseOomKill(*text);
}

}  // namespace hale::agent::platform
