#include "agent/state/space_reserve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace hale::agent::state {

SpaceReserve::SpaceReserve(std::string path, uint64_t bytes, const platform::Filesystem& fs)
    : path_(std::move(path)), bytes_(bytes), fs_(fs) {
  struct stat st {};
  // A reserve left by an earlier run counts only if it is whole.
  held_ = bytes_ > 0 && ::stat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_blocks) * 512 >= bytes_;
}

uint64_t SpaceReserve::available() const {
  const auto dir = std::filesystem::path(path_).parent_path().string();
  const auto usage = fs_.usage(dir.empty() ? "." : dir);
  return usage ? usage->available_bytes : 0;
}

bool SpaceReserve::release() {
  const bool had = ::unlink(path_.c_str()) == 0;
  held_ = false;
  return had && bytes_ > 0;
}

bool SpaceReserve::take() {
  if (held_ || bytes_ == 0) return held_;
  if (available() < 2 * bytes_) return false;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  // posix_fallocate allocates real blocks (a sparse file would reserve nothing).
  const bool ok = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_)) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path_.c_str());
    return false;
  }
  held_ = true;
  return true;
}

}  // namespace hale::agent::state
