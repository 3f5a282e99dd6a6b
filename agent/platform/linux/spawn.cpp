#include "agent/platform/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <grp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

extern char** environ;

namespace hale::agent::platform {

std::vector<std::string> mergedEnvironment(const std::vector<std::string>& overrides) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    const std::string kv(*e);
    vars[kv.substr(0, kv.find('='))] = kv;
  }
  for (const auto& kv : overrides) vars[kv.substr(0, kv.find('='))] = kv;
  std::vector<std::string> out;
  for (auto& [key, kv] : vars) out.push_back(std::move(kv));
  return out;
}

namespace {
// fork + execve for a child with other credentials, with the same setup as the
// posix_spawn path. Everything is prepared before fork; the child only makes
// system calls, and reports a failure's errno through a close-on-exec pipe so
// the caller gets the error synchronously, as from posix_spawn.
Result<pid_t> forkWithCredentials(const SpawnOptions& o, char* const* args, char* const* envp) {
  const auto& cred = *o.credentials;
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return makeError(fmt::format("pipe: {}", std::strerror(errno)), errno);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return Error{fmt::format("cannot run '{}': fork: {}", o.argv[0], std::strerror(err)), err};
  }
  if (pid == 0) {
    auto fail = [&](int step) {
      const int e[2] = {step, errno};
      (void)!::write(report[1], e, sizeof e);
      ::_exit(127);
    };
    const int null = ::open("/dev/null", O_RDONLY);
    if (null < 0 || ::dup2(null, 0) < 0) fail(0);
    if (o.output_fd >= 0 && (::dup2(o.output_fd, 1) < 0 || ::dup2(o.output_fd, 2) < 0)) fail(0);
    if (::setpgid(0, 0) != 0) fail(0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::setgroups(cred.groups.size(), cred.groups.data()) != 0) fail(1);
    if (::setgid(cred.gid) != 0) fail(1);
    if (::setuid(cred.uid) != 0) fail(1);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) fail(2);
    ::execve(args[0], args, envp);
    fail(3);
  }
  ::close(report[1]);
  int e[2] = {0, 0};
  ssize_t n;
  while ((n = ::read(report[0], e, sizeof e)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n <= 0) return pid;  // exec succeeded: the pipe closed with nothing in it
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  static constexpr const char* kStep[] = {"set up stdio", "switch user", "chdir", "exec"};
  return Error{fmt::format("cannot run '{}': {}: {}", o.argv[0], kStep[e[0] & 3], std::strerror(e[1])), e[1]};
}
}  // namespace

Result<pid_t> spawnProcess(const SpawnOptions& o) {
  if (o.argv.empty() || o.argv[0].empty()) return makeError("empty argv");
  if (o.credentials) {
    std::vector<char*> args, envp;
    for (const auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const auto env = mergedEnvironment(o.env);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    return forkWithCredentials(o, args.data(), envp.data());
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (o.output_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, o.output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, o.output_fd, 2);
  }
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, o.cwd.c_str());
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> args, envp;
  for (const auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto env = mergedEnvironment(o.env);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = o.search_path ? ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), envp.data())
                               : ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Error{fmt::format("cannot run '{}': {}", o.argv[0], std::strerror(rc)), rc};
  return pid;
}

}  // namespace hale::agent::platform
