// posix_spawn + a poll loop over two pipes: output is forwarded as soon as it
// is read (no line buffering), so interleaving and latency match the bare step.
#include "agent/ci/step_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace hale::agent::ci {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kReadSize = 256 * 1024;
constexpr int kPipeSize = 1 << 20;  // fewer wake-ups per MB for chatty steps; no added latency
constexpr auto kDrainAfterExit = std::chrono::milliseconds(200);
// A chatty step writes in 4 KiB pieces; waking for each one costs the step
// more (a wake-up per write, on its own core) than the copy. After a read that
// found data, the next read waits until this long after it: a byte is held at
// most 1 ms, and a 100 MB/s step costs ~1,000 wake-ups a second, not ~10,000.
constexpr auto kReadPacing = std::chrono::microseconds(1000);

void writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed consumer must not stop the step
    data += n;
    size -= static_cast<size_t>(n);
  }
}

struct Pipes {
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  ~Pipes() {
    for (int fd : {out[0], out[1], err[0], err[1]})
      if (fd >= 0) ::close(fd);
  }
};

struct Child {
  pid_t pid = -1;
  bool exited = false;
  int status = 0;
  bool reap(bool block) {
    if (exited) return true;
    int st = 0;
    pid_t r;
    do r = ::waitpid(pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == pid) exited = true, status = st;
    return exited;
  }
};

// Our environment with `overrides` replacing or adding variables.
std::vector<std::string> childEnvironment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    if (std::none_of(overrides.begin(), overrides.end(), [&](const auto& o) { return o.first == name; }))
      out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

int spawn(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env,
          Pipes& pipes, pid_t* pid) {
  const std::vector<std::string> child_env = env.empty() ? std::vector<std::string>() : childEnvironment(env);
  std::vector<char*> cenv;
  for (const auto& e : child_env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, pipes.out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipes.err[1], 2);
  // Own process group (so a timeout can kill grandchildren too) and default
  // signal dispositions, whatever the agent ignores itself.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const int rc = ::posix_spawnp(pid, cargv[0], &actions, &attr, cargv.data(), env.empty() ? environ : cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return rc;
}

// Reads what is available on `fd`: the byte count, 0 if nothing, -1 at EOF or error.
ssize_t forward(int fd, int to_fd, int stream, Classifier* classifier, char* buffer) {
  const ssize_t n = ::read(fd, buffer, kReadSize);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;
  if (n == 0) return -1;
  writeAll(to_fd, buffer, static_cast<size_t>(n));
  if (classifier) classifier->feed(std::string_view(buffer, static_cast<size_t>(n)), stream);
  return n;
}

int exitCodeOf(int status, int* signal) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    *signal = WTERMSIG(status);
    return 128 + *signal;
  }
  return 1;
}

}  // namespace

StepResult runStep(const std::vector<std::string>& argv, const StepOptions& options, Classifier* classifier) {
  StepResult result;
  const auto start = Clock::now();
  const hale::Clock& clock = options.clock ? *options.clock : RealClock::instance();
  const MonoTime started = clock.monoNow();
  Pipes pipes;
  if (argv.empty() || ::pipe2(pipes.out, O_CLOEXEC) != 0 || ::pipe2(pipes.err, O_CLOEXEC) != 0) {
    result.exit_code = 127;
    result.spawn_error = argv.empty() ? "no command given" : std::strerror(errno);
    return result;
  }
  Child child;
  if (const int rc = spawn(argv, options.env, pipes, &child.pid); rc != 0) {
    result.exit_code = 127;
    result.spawn_error = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return result;
  }
  ::close(pipes.out[1]);
  ::close(pipes.err[1]);
  pipes.out[1] = pipes.err[1] = -1;
  for (int fd : {pipes.out[0], pipes.err[0]}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETPIPE_SZ, kPipeSize);  // best effort: may exceed the user's pipe limit
  }

  std::vector<char> buffer(kReadSize);
  // A pidfd turns readable when the child exits, so its end is seen at once
  // rather than at the next poll timeout (Linux 5.3+; else the timeout it is).
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child.pid, 0));
  pollfd fds[3] = {{pipes.out[0], POLLIN, 0}, {pipes.err[0], POLLIN, 0}, {pidfd, POLLIN, 0}};
  const int targets[2] = {options.stdout_fd, options.stderr_fd};
  std::optional<Clock::time_point> deadline, kill_at, drain_until;
  Clock::time_point next_read{};
  if (options.timeout) deadline = start + *options.timeout;
  int forwarded = 0;
  while (fds[0].fd >= 0 || fds[1].fd >= 0 || !child.exited) {
    const auto now = Clock::now();
    if (options.forward_signal && *options.forward_signal != forwarded && !child.exited) {
      forwarded = *options.forward_signal;
      ::kill(-child.pid, forwarded);
    }
    if (deadline && now >= *deadline && !result.timed_out) {
      result.timed_out = true;
      ::kill(-child.pid, SIGTERM);
      kill_at = now + options.kill_grace;
    }
    if (kill_at && now >= *kill_at) {
      ::kill(-child.pid, SIGKILL);
      kill_at.reset();
    }
    if (!child.exited && child.reap(false) && !result.timed_out) drain_until = now + kDrainAfterExit;
    if (child.exited && (result.timed_out || (drain_until && now >= *drain_until))) break;
    if (child.exited) fds[2].fd = -1;
    if (fds[0].fd < 0 && fds[1].fd < 0 && fds[2].fd < 0) {  // output closed early: just wait for the exit
      ::usleep(10'000);
      continue;
    }
    if (next_read > now) std::this_thread::sleep_until(next_read);
    if (::poll(fds, 3, 20) <= 0) continue;
    const auto read_at = Clock::now();
    bool drained = false, more = false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = forward(fds[i].fd, targets[i], i, classifier, buffer.data());
      if (n < 0) fds[i].fd = -1;
      if (n > 0) (static_cast<size_t>(n) == kReadSize ? more : drained) = true;
    }
    if (drained || more)
      result.last_output = std::chrono::duration_cast<std::chrono::milliseconds>(clock.monoNow() - started);
    // A full read means more is waiting: read on at once.
    next_read = drained && !more ? read_at + kReadPacing : Clock::time_point{};
  }
  if (result.timed_out) ::kill(-child.pid, SIGKILL);  // descendants that ignored SIGTERM
  child.reap(true);
  if (pidfd >= 0) ::close(pidfd);
  result.exit_code = exitCodeOf(child.status, &result.signal);
  if (result.timed_out) result.exit_code = 124;
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock.monoNow() - started);
  return result;
}

}  // namespace hale::agent::ci
