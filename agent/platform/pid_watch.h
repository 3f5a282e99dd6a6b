#pragma once
// Exit detection for any process, not only the agent's children: a pidfd
// (pidfd_open) becomes readable the moment the process exits, and Asio waits
// on it, so an exit is seen in microseconds instead of at the next poll.
// Used by the supervisor (its own children) and by the process check
// (processes found by pidfile or by name).
#include <asio/io_context.hpp>
#include <functional>
#include <memory>

#include "shared/util/result.h"

namespace hale::agent::platform {

/// A pidfd for `pid` (close-on-exec); fails with ESRCH when it is gone.
Result<int> openPidfd(int pid);

/// Calls `on_exit` once, on the io thread, when the process behind `pidfd`
/// exits; the pidfd is closed afterwards. Nothing cancels it: the supervisor
/// uses it to reap every child it started, even one replaced by a restart.
void whenExited(asio::io_context& io, int pidfd, std::function<void()> on_exit);

/// A cancellable watch on one process. Destroying it (on the io thread) stops
/// watching; `on_exit` is then never called.
class PidWatch {
 public:
  /// Opens a pidfd for `pid` and starts watching it. ESRCH: it is already gone.
  static Result<std::unique_ptr<PidWatch>> open(asio::io_context& io, int pid, std::function<void()> on_exit);
  ~PidWatch();
  PidWatch(const PidWatch&) = delete;
  PidWatch& operator=(const PidWatch&) = delete;

  int pid() const { return pid_; }

 private:
  struct State;
  PidWatch(int pid, std::shared_ptr<State> state) : pid_(pid), state_(std::move(state)) {}
  int pid_;
  std::shared_ptr<State> state_;
};

}  // namespace hale::agent::platform
