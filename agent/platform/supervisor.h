#pragma once
// Children the agent starts and watches itself. Exit detection is event
// driven: a pidfd (pidfd_open) wrapped in an asio stream_descriptor becomes
// readable the moment the child dies, so a crash is seen in microseconds
// rather than at the next poll. Children are registered by check name so a
// config reload (which rebuilds the checks) keeps them running.
#include "shared/util/clock.h"
#include "shared/util/result.h"

#include <asio/io_context.hpp>
#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hale::agent::platform {

struct ChildSpec {
  std::vector<std::string> argv;  ///< argv[0]: absolute path
  std::vector<std::string> env;   ///< KEY=VALUE added to the agent's environment
  std::string cwd;
  /// Another user to run as (the agent is root); resolved when the config is read.
  struct RunAs {
    std::string user;
    uid_t uid = 0;
    gid_t gid = 0;  ///< the user's primary group, the only group it gets
    bool operator==(const RunAs&) const = default;
  };
  std::optional<RunAs> run_as;
  bool operator==(const ChildSpec&) const = default;
};

struct ChildExit {
  int exit_code = -1;  ///< when it exited; -1 when killed
  int signal = 0;      ///< signal that killed it, 0 when it exited
  Millis uptime{0};    ///< how long it ran
};

/// Thread-safe: the state is read by checks (io thread) and by the restart
/// action (a worker); the pidfd is only touched on the io thread.
class SupervisedChild : public std::enable_shared_from_this<SupervisedChild> {
 public:
  SupervisedChild(asio::io_context& io, ChildSpec spec);
  ~SupervisedChild();  ///< sends SIGTERM to a running child

  /// Spawns the child (io thread). A running child is killed first.
  Status start();
  /// From a worker thread: runs start() on the io thread and waits for it.
  Status startFromWorker(std::chrono::milliseconds timeout);
  /// Called on the io thread after each exit.
  void onExit(std::function<void(const ChildExit&)> fn);

  bool running() const;
  int pid() const;
  uint64_t starts() const;
  std::optional<ChildExit> lastExit() const;
  /// Exits within `window` before now: a crash loop when it reaches a threshold.
  size_t exitsWithin(Millis window) const;
  const ChildSpec& spec() const { return spec_; }
  asio::io_context& io() { return io_; }

 private:
  void watch(int pid, int pidfd, MonoTime started);
  asio::io_context& io_;
  ChildSpec spec_;
  mutable std::mutex mu_;
  int pid_ = -1;
  MonoTime started_{};
  uint64_t starts_ = 0;
  std::optional<ChildExit> last_exit_;
  std::deque<MonoTime> exits_;
  std::function<void(const ChildExit&)> on_exit_;
};

/// The child supervised for `check`, or null.
std::shared_ptr<SupervisedChild> supervisedChild(const std::string& check);
/// Returns the registered child when its spec and io_context match, else registers a new one.
std::shared_ptr<SupervisedChild> adoptSupervisedChild(const std::string& check, asio::io_context& io,
                                                      const ChildSpec& spec, bool& created);

}  // namespace hale::agent::platform
