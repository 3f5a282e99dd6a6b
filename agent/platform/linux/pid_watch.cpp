#include "agent/platform/pid_watch.h"

#include <fmt/format.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>

namespace hale::agent::platform {

Result<int> openPidfd(int pid) {
  if (pid <= 0) return makeError(fmt::format("pidfd_open: invalid pid {}", pid), EINVAL);
  // pidfds are close-on-exec always.
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return makeError(fmt::format("pidfd_open {}: {}", pid, std::strerror(errno)), errno);
  return fd;
}

void whenExited(asio::io_context& io, int pidfd, std::function<void()> on_exit) {
  auto sd = std::make_shared<asio::posix::stream_descriptor>(io, pidfd);
  sd->async_wait(asio::posix::stream_descriptor::wait_read, [sd, fn = std::move(on_exit)](std::error_code ec) {
    if (!ec) fn();
  });
}

struct PidWatch::State {
  explicit State(asio::io_context& io, int fd) : sd(io, fd) {}
  asio::posix::stream_descriptor sd;
  bool cancelled = false;
};

Result<std::unique_ptr<PidWatch>> PidWatch::open(asio::io_context& io, int pid, std::function<void()> on_exit) {
  auto fd = openPidfd(pid);
  if (!fd) return fd.error();
  auto state = std::make_shared<State>(io, *fd);
  state->sd.async_wait(asio::posix::stream_descriptor::wait_read, [state, fn = std::move(on_exit)](std::error_code ec) {
    if (ec || state->cancelled) return;
    state->cancelled = true;
    fn();
  });
  return std::unique_ptr<PidWatch>(new PidWatch(pid, std::move(state)));
}

PidWatch::~PidWatch() {
  // The pending wait holds the state; it completes as aborted and closes the fd.
  state_->cancelled = true;
  std::error_code ignored;
  state_->sd.cancel(ignored);
}

}  // namespace hale::agent::platform
