#include "agent/platform/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <signal.h>
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
// fork + exec as another user. Between fork and exec the child of a
// multi-threaded process may only make async-signal-safe calls: everything is
// prepared before the fork, and an exec failure travels back as errno over a
// close-on-exec pipe.
Result<pid_t> forkAsUser(const SpawnOptions& o, char* const* args, char* const* envp) {
  if (o.argv[0][0] != '/')
    return makeError(fmt::format("cannot run '{}' as another user: not an absolute path", o.argv[0]));
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Error{fmt::format("pipe: {}", std::strerror(errno)), errno};
  const uid_t uid = static_cast<uid_t>(o.uid);
  const gid_t gid = static_cast<gid_t>(o.gid >= 0 ? o.gid : o.uid);
  const char* cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return Error{fmt::format("cannot run '{}': fork: {}", o.argv[0], std::strerror(err)), err};
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0 && null != 0) {
      ::dup2(null, 0);
      ::close(null);
    }
    if (o.output_fd >= 0) {
      ::dup2(o.output_fd, 1);
      ::dup2(o.output_fd, 2);
    }
    int err = 0;
    if (cwd && ::chdir(cwd) != 0) err = errno;
    if (!err && (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) err = errno;
    if (!err) {
      ::execve(args[0], args, envp);
      err = errno;
    }
    ssize_t ignored = ::write(report[1], &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }
  ::close(report[1]);
  int err = 0;
  ssize_t got;
  while ((got = ::read(report[0], &err, sizeof err)) < 0 && errno == EINTR) {}
  ::close(report[0]);
  if (got == static_cast<ssize_t>(sizeof err)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return Error{fmt::format("cannot run '{}' as uid {}: {}", o.argv[0], uid, std::strerror(err)), err};
  }
  return pid;
}
}  // namespace

Result<pid_t> spawnProcess(const SpawnOptions& o) {
  if (o.argv.empty() || o.argv[0].empty()) return makeError("empty argv");
  std::vector<char*> args, envp;
  for (const auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto env = mergedEnvironment(o.env);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  if (o.uid >= 0) return forkAsUser(o, args.data(), envp.data());
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

  pid_t pid = -1;
  const int rc = o.search_path ? ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), envp.data())
                               : ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Error{fmt::format("cannot run '{}': {}", o.argv[0], std::strerror(rc)), rc};
  return pid;
}

}  // namespace hale::agent::platform
