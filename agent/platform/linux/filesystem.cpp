#include "agent/platform/filesystem.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace hale::agent::platform {
namespace {
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
};
}  // namespace

const Filesystem& realFilesystem() {
  static const StatvfsFilesystem fs;
  return fs;
}

}  // namespace hale::agent::platform
