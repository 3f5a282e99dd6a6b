// disk: fill a sandbox directory on the watched file system with one
// temporary file until the space used passes crit_percent (of the file
// system, or with quota_bytes of the quota: then the sandbox must lie inside
// the watched tree, so the fill counts against it). Only inside the
// check's `[check.drill] dir`, never more than `max_bytes`; the file is
// removed when the drill ends, whatever happened (a `clean` step may remove
// it first: that is the repair being drilled).
#include "agent/drills/drill.h"
#include "agent/platform/filesystem.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace hale::agent::drills {
namespace {

constexpr uint64_t kSlack = 8ull << 20;  // past the threshold even if something else frees a little

class FillFile final : public Fault {
 public:
  FillFile(std::string path, uint64_t bytes) : path_(std::move(path)), bytes_(bytes) {}
  ~FillFile() override { ::unlink(path_.c_str()); }
  std::string describe() const override {
    return fmt::format("wrote {:.1f} MiB to {}", static_cast<double>(bytes_) / (1 << 20), path_);
  }

 private:
  std::string path_;
  uint64_t bytes_;
};

double numberOr(const toml::table& t, std::string_view key, double fallback) {
  if (const auto* n = t.get(key)) {
    if (auto v = n->value<double>()) return *v;
  }
  return fallback;
}

Status fill(int fd, uint64_t bytes) {
  if (::posix_fallocate(fd, 0, static_cast<off_t>(bytes)) == 0) return {};
  // File systems without fallocate: write zeros.
  std::vector<char> zeros(1 << 20, 0);
  for (uint64_t done = 0; done < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes - done));
    const ssize_t w = ::write(fd, zeros.data(), n);
    if (w <= 0) return makeError(std::string("write: ") + std::strerror(errno));
    done += static_cast<uint64_t>(w);
  }
  return ::fsync(fd) == 0 ? Status{} : Status(makeError(std::string("fsync: ") + std::strerror(errno)));
}

// Bytes to write so that the check's use passes crit_percent: of the file system, or with
// quota_bytes of the quota (the sandbox must then be inside the tree, or the fill would not count).
Result<uint64_t> bytesPastCrit(const Target& t, const std::string& path, const struct statvfs& vfs, double crit) {
  const auto* quota_node = t.table.get("quota_bytes");
  const auto quota = quota_node ? quota_node->value<int64_t>() : std::nullopt;
  if (!quota) {
    const uint64_t total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    const uint64_t used = total - static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    const auto target_used = static_cast<uint64_t>(std::ceil(crit / 100.0 * static_cast<double>(total)));
    return (target_used > used ? target_used - used : 0) + kSlack;
  }
  std::error_code tree_ec, sandbox_ec;
  const auto tree = std::filesystem::canonical(path, tree_ec);
  const auto sandbox = std::filesystem::canonical(t.settings.dir, sandbox_ec);
  if (tree_ec || sandbox_ec ||
      std::mismatch(tree.begin(), tree.end(), sandbox.begin(), sandbox.end()).first != tree.end())
    return makeError(fmt::format("drill dir {} is not inside {}, whose quota the check watches", t.settings.dir, path));
  const auto max_entries = t.table.get("max_entries") ? t.table.get("max_entries")->value<int64_t>() : std::nullopt;
  auto tree_use = platform::realFilesystem().directoryUsage(path, static_cast<uint64_t>(max_entries.value_or(100000)));
  if (!tree_use) return tree_use.error();
  const auto target_used = static_cast<uint64_t>(std::ceil(crit / 100.0 * static_cast<double>(*quota)));
  // A small quota needs a small margin: 1 % of it, at least one 4 KiB block.
  const uint64_t slack = std::max<uint64_t>(4096, static_cast<uint64_t>(*quota) / 100);
  return (target_used > tree_use->bytes ? target_used - tree_use->bytes : 0) + slack;
}

class DiskInjector final : public Injector {
 public:
  Result<FaultPtr> inject(const Target& t, asio::io_context&) override {
    const auto& dir = t.settings.dir;
    if (dir.empty())
      return makeError(
          "not drillable: a disk drill needs `dir` in [check.drill], a sandbox directory on the watched file system");
    const auto* path_node = t.table.get("path");
    const std::string path = path_node && path_node->is_string() ? path_node->as_string()->get() : "/";
    struct stat dst {
    }, pst{};
    if (::lstat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode))
      return makeError(fmt::format("drill dir {} is not a directory (symlinks are refused)", dir));
    if (::stat(path.c_str(), &pst) != 0) return makeError(fmt::format("{}: {}", path, std::strerror(errno)));
    if (pst.st_dev != dst.st_dev)
      return makeError(fmt::format("drill dir {} is not on the file system of {}", dir, path));
    struct statvfs vfs {};
    if (::statvfs(dir.c_str(), &vfs) != 0) return makeError(fmt::format("statvfs {}: {}", dir, std::strerror(errno)));
    const uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    const double crit = numberOr(t.table, "crit_percent", 90.0);
    auto need = bytesPastCrit(t, path, vfs, crit);
    if (!need) return need.error();
    if (*need > t.settings.max_bytes)
      return makeError(
          fmt::format("refused: passing crit_percent {} needs {:.1f} MiB, more than max_bytes ({:.1f} MiB)", crit,
                      static_cast<double>(*need) / (1 << 20), static_cast<double>(t.settings.max_bytes) / (1 << 20)));
    if (*need + kSlack > avail) return makeError("refused: not enough free space to fill safely");
    const std::string file = fmt::format("{}/hale-drill-{}-{}.fill", dir, t.check.name(), ::getpid());
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return makeError(fmt::format("{}: {}", file, std::strerror(errno)));
    auto fault = std::make_unique<FillFile>(file, *need);  // removes the file on every path from here
    const auto ok = fill(fd, *need);
    ::close(fd);
    if (!ok) return makeError(fmt::format("{}: {}", file, ok.error().message));
    return FaultPtr(std::move(fault));
  }
};

InjectorPtr make() { return std::make_unique<DiskInjector>(); }
}  // namespace

extern const DrillKind kDiskDrill;
const DrillKind kDiskDrill{"disk", "fill [check.drill] dir with one temporary file to just past crit_percent", &make};

}  // namespace hale::agent::drills
