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

class Filesystem {
 public:
  virtual ~Filesystem() = default;
  virtual Result<FsUsage> usage(const std::string& path) const = 0;
};

/// statvfs(2).
const Filesystem& realFilesystem();

}  // namespace hale::agent::platform
