#include "agent/platform/file_read.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace hale::agent::platform {

Result<std::string> readFileCapped(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return makeError(fmt::format("{}: {}", path, std::strerror(errno)), errno);
  std::string out;
  char buf[16 * 1024];
  for (;;) {
    // /proc files report size 0, so read until EOF instead of trusting fstat.
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return makeError(fmt::format("{}: {}", path, std::strerror(err)), err);
    }
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return makeError(fmt::format("{}: larger than {} bytes", path, max_bytes), EFBIG);
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace hale::agent::platform
