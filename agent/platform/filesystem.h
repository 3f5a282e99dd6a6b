#pragma once
// The file-system facts checks need, behind an interface so check logic is
// tested with fakes and the real statvfs is tested once on its own.
#include "shared/util/result.h"

#include <cstdint>
#include <string>

namespace hale::agent::platform {

struct FsUsage {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;  ///< what an unprivileged writer can still use
  uint64_t total_inodes = 0;
  uint64_t available_inodes = 0;
  bool read_only = false;
};

/// What a directory tree occupies, counted the way `du -sx` does.
struct DirUsage {
  uint64_t bytes = 0;  ///< blocks allocated (st_blocks x 512) to every entry, a hard-linked file once
  uint64_t files = 0;  ///< regular files
};

class Filesystem {
 public:
  virtual ~Filesystem() = default;
  virtual Result<FsUsage> usage(const std::string& path) const = 0;
  /// Walks the tree at `path` without following symlinks or entering other file systems. More
  /// than `max_entries` entries, or a directory it cannot read, is an error: a partial sum would
  /// understate the use.
  virtual Result<DirUsage> directoryUsage(const std::string& path, uint64_t max_entries) const = 0;
};

/// statvfs(2), and a walk with openat/fstatat for directory trees.
const Filesystem& realFilesystem();

}  // namespace hale::agent::platform
