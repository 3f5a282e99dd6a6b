#include "agent/platform/filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <set>
#include <utility>

namespace hale::agent::platform {
namespace {

// Deeper trees are refused rather than walked: every level holds a descriptor.
constexpr int kMaxDepth = 128;

struct TreeWalk {
  std::string root;
  dev_t dev = 0;
  uint64_t max_entries = 0;
  uint64_t entries = 0;
  std::set<std::pair<dev_t, ino_t>> linked;  // multiply linked files already counted
  DirUsage usage;
};

Error sysError(const std::string& what, const std::string& path) {
  const int err = errno;
  return Error{fmt::format("{}({}): {}", what, path, std::strerror(err)), err};
}

void count(const struct stat& st, TreeWalk& w) {
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !w.linked.emplace(st.st_dev, st.st_ino).second) return;
  w.usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  if (S_ISREG(st.st_mode)) ++w.usage.files;
}

// Sums the directory open at `fd` (taken over and closed); `path` names it in errors. Entries that
// vanish during the walk (a cleaner at work) are skipped, not errors.
Status walkDirectory(int fd, const std::string& path, int depth, TreeWalk& w) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), &::closedir);
  if (!dir) {
    auto e = sysError("fdopendir", path);
    ::close(fd);
    return e;
  }
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (!entry) {
      if (errno != 0) return sysError("readdir", path);
      return {};
    }
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (++w.entries > w.max_entries) return Error{fmt::format("{}: more than {} entries", w.root, w.max_entries), 0};
    const std::string child = path + "/" + entry->d_name;
    struct stat st {};
    if (::fstatat(::dirfd(dir.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return sysError("stat", child);
    }
    if (st.st_dev != w.dev) continue;  // another file system mounted inside: not this tree's (du -x)
    count(st, w);
    if (!S_ISDIR(st.st_mode)) continue;
    if (depth + 1 >= kMaxDepth) return Error{fmt::format("{}: deeper than {} levels", child, kMaxDepth), 0};
    const int sub = ::openat(::dirfd(dir.get()), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      if (errno == ENOENT) continue;
      return sysError("open", child);
    }
    if (auto ok = walkDirectory(sub, child, depth + 1, w); !ok) return ok;
  }
}

class StatvfsFilesystem final : public Filesystem {
 public:
  Result<FsUsage> usage(const std::string& path) const override {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0)
      return Error{fmt::format("statvfs({}): {}", path, std::strerror(errno)), errno};
    FsUsage u;
    u.total_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    u.available_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    u.total_inodes = st.f_files;
    u.available_inodes = st.f_favail;
    u.read_only = (st.f_flag & ST_RDONLY) != 0;
    return u;
  }

  Result<DirUsage> directoryUsage(const std::string& path, uint64_t max_entries) const override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sysError("open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      auto e = sysError("stat", path);
      ::close(fd);
      return e;
    }
    TreeWalk w;
    w.root = path;
    w.dev = st.st_dev;
    w.max_entries = max_entries;
    count(st, w);
    if (auto ok = walkDirectory(fd, path, 0, w); !ok) return ok.error();
    return w.usage;
  }
};
}  // namespace

const Filesystem& realFilesystem() {
  static const StatvfsFilesystem fs;
  return fs;
}

}  // namespace hale::agent::platform
