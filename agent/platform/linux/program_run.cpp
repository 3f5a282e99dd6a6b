#include "agent/platform/program_run.h"
#include "agent/platform/pid_watch.h"
#include "agent/platform/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace hale::agent::platform {
namespace {

int waitChild(pid_t pid, Deadline deadline, bool& timed_out) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return status;
    if (remainingMs(deadline) == 0) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
      return status;
    }
    ::poll(nullptr, 0, 2);
  }
}
}  // namespace

Result<CapturedRun> runProgram(const ProgramSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/')
    return makeError("argv[0] must be an absolute path");
  const Deadline deadline = std::chrono::steady_clock::now() + spec.timeout;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return makeError(fmt::format("pipe: {}", std::strerror(errno)), errno);
  Socket read_end(fds[0]);
  SpawnOptions options;
  options.argv = spec.argv;
  options.env = spec.env;
  options.cwd = spec.cwd;
  options.output_fd = fds[1];
  options.uid = spec.uid;
  options.gid = spec.gid;
  auto spawned = spawnProcess(options);
  ::close(fds[1]);
  if (!spawned) return spawned.error();
  const pid_t pid = *spawned;

  CapturedRun run;
  char buf[4096];
  // The output ends when the program exits, not when the pipe closes: a start
  // command that detaches a daemon leaves the daemon holding the pipe.
  auto pidfd = openPidfd(pid);
  Socket exited(pidfd ? *pidfd : -1);
  bool gone = false;
  for (;;) {
    pollfd p[2] = {{read_end.fd(), POLLIN, 0}, {exited.fd(), POLLIN, 0}};
    const int n = ::poll(p, exited.fd() >= 0 && !gone ? 2 : 1, gone ? 0 : remainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // deadline: waitChild kills the group; or exited and drained
    if (p[1].revents & POLLIN) gone = true;
    if (!(p[0].revents & (POLLIN | POLLHUP))) continue;
    const ssize_t got = ::read(read_end.fd(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    // Keep the tail, not the head: the end of the output says why it failed.
    run.output.append(buf, static_cast<size_t>(got));
    if (run.output.size() > spec.max_output) run.output.erase(0, run.output.size() - spec.max_output);
  }
  const int status = waitChild(pid, deadline, run.timed_out);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.term_signal = WTERMSIG(status);
  return run;
}

}  // namespace hale::agent::platform
