#include "agent/platform/command_capture.h"
#include "agent/platform/spawn.h"
#include "shared/util/backoff.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace hale::agent::platform {

Result<CapturedRun> runCaptured(const std::vector<std::string>& argv, Deadline deadline, size_t max_output) {
  if (argv.empty()) return makeError("empty argv");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return makeError(fmt::format("pipe: {}", std::strerror(errno)), errno);
  Socket read_end(fds[0]);  // Socket is just an owning fd here
  SpawnOptions options;
  options.argv = argv;
  options.output_fd = fds[1];
  options.search_path = true;
  auto spawned = spawnProcess(options);
  ::close(fds[1]);
  if (!spawned) return spawned.error();
  const pid_t pid = *spawned;

  CapturedRun run;
  char buf[4096];
  for (;;) {
    pollfd p{read_end.fd(), POLLIN, 0};
    const int n = ::poll(&p, 1, remainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      run.timed_out = true;
      break;
    }
    const ssize_t got = ::read(read_end.fd(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: every writer (the child and what it started) is gone
    const size_t keep = std::min(static_cast<size_t>(got), max_output - std::min(run.output.size(), max_output));
    run.output.append(buf, keep);
  }
  // The output closed, but a child that closed its stdout may still run: wait
  // for it only until the deadline, polling with a short backoff.
  int status = 0;
  for (uint64_t polls = 0; !run.timed_out; ++polls) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (remainingMs(deadline) == 0) {
      run.timed_out = true;
      break;
    }
    const auto pause = exponentialDelay(std::chrono::milliseconds(1), std::chrono::milliseconds(20), polls);
    std::this_thread::sleep_for(std::min(pause, std::chrono::milliseconds(remainingMs(deadline))));
  }
  if (run.timed_out) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.term_signal = WTERMSIG(status);
  return run;
}

}  // namespace hale::agent::platform
