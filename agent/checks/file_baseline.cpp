#include "agent/checks/file_baseline.h"

#include "shared/crypto/crypto.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

namespace hale::agent::checks::baseline {
namespace {
Result<Entry> entryOf(const std::filesystem::path& full, std::string rel) {
  struct stat st {};
  if (::lstat(full.c_str(), &st) != 0) return Error{fmt::format("cannot stat '{}'", full.string()), errno};
  Entry e;
  e.path = std::move(rel);
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  if (S_ISLNK(st.st_mode)) {
    // Never followed: the link itself (its target text) is what is recorded.
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(full, ec).string();
    e.sha256 = "link:" + crypto::toHex(crypto::sha256(target));
    return e;
  }
  auto digest = crypto::sha256File(full.string());
  if (!digest) return digest.error();
  e.sha256 = crypto::toHex(*digest);
  return e;
}
}  // namespace

Result<std::vector<Entry>> scan(const std::string& root, size_t max_files) {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(root, ec);
  if (ec || !std::filesystem::exists(status)) return Error{fmt::format("'{}' does not exist", root), ENOENT};
  std::vector<Entry> out;
  if (!std::filesystem::is_directory(status)) {
    auto e = entryOf(root, ".");
    if (!e) return e.error();
    out.push_back(std::move(*e));
    return out;
  }
  std::filesystem::recursive_directory_iterator it(root, std::filesystem::directory_options::none, ec), end;
  if (ec) return Error{fmt::format("cannot read '{}': {}", root, ec.message()), ec.value()};
  for (; it != end; it.increment(ec)) {
    if (ec) return Error{fmt::format("cannot read under '{}': {}", root, ec.message()), ec.value()};
    const auto s = it->symlink_status(ec);
    if (std::filesystem::is_directory(s)) continue;
    if (out.size() >= max_files) return Error{fmt::format("more than {} files under '{}'", max_files, root), 0};
    auto e = entryOf(it->path(), std::filesystem::relative(it->path(), root).string());
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return out;
}

std::string format(const std::vector<Entry>& entries) {
  std::string out;
  for (const auto& e : entries) out += fmt::format("{} {:04o} {} {}\n", e.sha256, e.mode, e.uid, e.path);
  return out;
}

Result<std::vector<Entry>> parse(std::string_view text) {
  std::vector<Entry> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    auto fail = [&](const char* what) { return Error{fmt::format("baseline line {}: {}", line_no, what), 0}; };
    const size_t a = line.find(' '), b = a == std::string_view::npos ? a : line.find(' ', a + 1),
                 c = b == std::string_view::npos ? b : line.find(' ', b + 1);
    if (c == std::string_view::npos || c + 1 >= line.size()) return fail("expected 'sha256 mode uid path'");
    Entry e;
    e.sha256 = std::string(line.substr(0, a));
    if (e.sha256.size() < 64) return fail("expected a SHA-256 in hex");
    const auto mode = line.substr(a + 1, b - a - 1), uid = line.substr(b + 1, c - b - 1);
    if (std::from_chars(mode.data(), mode.data() + mode.size(), e.mode, 8).ptr != mode.data() + mode.size() ||
        mode.empty())
      return fail("expected an octal mode");
    if (std::from_chars(uid.data(), uid.data() + uid.size(), e.uid).ptr != uid.data() + uid.size() || uid.empty())
      return fail("expected a numeric uid");
    e.path = std::string(line.substr(c + 1));
    out.push_back(std::move(e));
  }
  return out;
}

Drift diff(const std::vector<Entry>& baseline, const std::vector<Entry>& current) {
  std::map<std::string, const Entry*> before;
  for (const auto& e : baseline) before[e.path] = &e;
  Drift d;
  for (const auto& e : current) {
    auto it = before.find(e.path);
    if (it == before.end()) {
      d.added.push_back(e.path);
      continue;
    }
    if (it->second->sha256 != e.sha256 || it->second->mode != e.mode || it->second->uid != e.uid)
      d.changed.push_back(e.path);
    before.erase(it);
  }
  for (const auto& [path, e] : before) d.removed.push_back(path);
  return d;
}

}  // namespace hale::agent::checks::baseline
