#include "agent/checks/file_baseline.h"

#include "shared/crypto/crypto.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

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

std::string objectsDir(const std::string& state_dir) { return state_dir + "/baseline/objects"; }

namespace {
bool isHexDigest(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Result<std::string> readBounded(const std::string& path, uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Error{fmt::format("cannot open '{}': {}", path, std::strerror(errno)), errno};
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Error{fmt::format("cannot read '{}': {}", path, std::strerror(err)), err};
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return Error{fmt::format("'{}' is larger than {} bytes", path, max_bytes), EFBIG};
    }
  }
  ::close(fd);
  return out;
}
}  // namespace

Status writeAtomic(const std::string& path, std::string_view data, uint32_t mode, int64_t uid, int64_t gid) {
  const std::filesystem::path target(path);
  const std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  std::string tmp = dir + "/.hale-tmp-" + target.filename().string() + "-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Error{fmt::format("cannot create a temporary file in '{}': {}", dir, std::strerror(errno)), errno};
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error{fmt::format("{} '{}': {}", what, tmp, std::strerror(err)), err};
  };
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (uid >= 0 &&
      ::fchown(fd, static_cast<uid_t>(uid), gid >= 0 ? static_cast<gid_t>(gid) : static_cast<gid_t>(-1)) != 0)
    return fail("cannot chown");
  // After chown: chown clears setuid/setgid bits.
  if (::fchmod(fd, mode & 07777) != 0) return fail("cannot chmod");
  if (::fsync(fd) != 0) return fail("cannot fsync");
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error{fmt::format("cannot rename onto '{}': {}", path, std::strerror(err)), err};
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);  // the rename itself must survive a crash
    ::close(dfd);
  }
  return {};
}

Result<std::string> loadObject(const std::string& objects_dir, const std::string& sha256, uint64_t max_bytes) {
  if (!isHexDigest(sha256)) return Error{fmt::format("'{}' is not a content hash", sha256.substr(0, 80)), EINVAL};
  auto data = readBounded(objects_dir + "/" + sha256, max_bytes);
  if (!data) return data.error();
  if (crypto::toHex(crypto::sha256(*data)) != sha256)
    return Error{fmt::format("stored copy {} is corrupt (its hash differs)", sha256.substr(0, 12)), EIO};
  return data;
}

Result<StoreStats> storeObjects(const std::string& root, const std::vector<Entry>& entries,
                                const std::string& objects_dir, uint64_t max_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(objects_dir, ec);
  if (ec) return Error{fmt::format("cannot create '{}': {}", objects_dir, ec.message()), ec.value()};
  ::chmod(objects_dir.c_str(), 0700);  // copies of /etc files may be secrets
  StoreStats stats;
  for (const auto& e : entries) {
    const std::string full = e.path == "." ? root : root + "/" + e.path;
    struct stat st {};
    if (!isHexDigest(e.sha256) || ::lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) > max_bytes) {
      ++stats.skipped;
      continue;
    }
    const std::string object = objects_dir + "/" + e.sha256;
    if (::access(object.c_str(), F_OK) == 0) {
      ++stats.stored;
      continue;
    }
    auto data = readBounded(full, max_bytes);
    if (!data || crypto::toHex(crypto::sha256(*data)) != e.sha256) {
      ++stats.skipped;  // grew past the bound or changed since it was hashed
      continue;
    }
    if (auto ok = writeAtomic(object, *data, 0600); !ok) return ok.error();
    ++stats.stored;
  }
  return stats;
}

}  // namespace hale::agent::checks::baseline
