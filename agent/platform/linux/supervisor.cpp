#include "agent/platform/supervisor.h"
#include "agent/platform/pid_watch.h"
#include "agent/platform/spawn.h"

#include <asio/post.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <map>

namespace hale::agent::platform {
namespace {
constexpr size_t kExitHistory = 64;

std::mutex registry_mu;
std::map<std::string, std::shared_ptr<SupervisedChild>>& registry() {
  static std::map<std::string, std::shared_ptr<SupervisedChild>> children;
  return children;
}

Result<int> spawnChild(const ChildSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/')
    return makeError("argv[0] must be an absolute path");
  SpawnOptions options;
  options.argv = spec.argv;
  options.env = spec.env;
  options.cwd = spec.cwd;
  if (spec.run_as) {
    options.uid = spec.run_as->uid;
    options.gid = spec.run_as->gid;
  }
  auto pid = spawnProcess(options);
  if (!pid) return pid.error();
  return static_cast<int>(*pid);
}
}  // namespace

SupervisedChild::SupervisedChild(asio::io_context& io, ChildSpec spec) : io_(io), spec_(std::move(spec)) {}

SupervisedChild::~SupervisedChild() {
  std::lock_guard lock(mu_);
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

Status SupervisedChild::start() {
  int old = -1;
  {
    std::lock_guard lock(mu_);
    old = pid_;
  }
  if (old > 0) ::kill(old, SIGKILL);  // its watcher reaps it and sees it is no longer current
  auto pid = spawnChild(spec_);
  if (!pid) return pid.error();
  const auto fd = openPidfd(*pid);
  if (!fd) {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
    return fd.error();
  }
  const MonoTime now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    pid_ = *pid;
    started_ = now;
    ++starts_;
  }
  watch(*pid, *fd, now);
  return {};
}

void SupervisedChild::watch(int pid, int pidfd, MonoTime started) {
  whenExited(io_, pidfd, [self = weak_from_this(), pid, started] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    auto me = self.lock();
    if (!me) return;
    ChildExit exit;
    exit.uptime = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - started);
    if (WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
    std::function<void(const ChildExit&)> fn;
    {
      std::lock_guard lock(me->mu_);
      if (me->pid_ != pid) return;  // an old child replaced by a restart
      me->pid_ = -1;
      me->last_exit_ = exit;
      me->exits_.push_back(std::chrono::steady_clock::now());
      if (me->exits_.size() > kExitHistory) me->exits_.pop_front();
      fn = me->on_exit_;
    }
    if (fn) fn(exit);
  });
}

Status SupervisedChild::startFromWorker(std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<Status>>();
  auto result = done->get_future();
  asio::post(io_, [self = shared_from_this(), done] { done->set_value(self->start()); });
  if (result.wait_for(timeout) != std::future_status::ready) return makeError("the event loop did not start the child");
  return result.get();
}

void SupervisedChild::onExit(std::function<void(const ChildExit&)> fn) {
  std::lock_guard lock(mu_);
  on_exit_ = std::move(fn);
}

bool SupervisedChild::running() const {
  std::lock_guard lock(mu_);
  return pid_ > 0;
}
int SupervisedChild::pid() const {
  std::lock_guard lock(mu_);
  return pid_;
}
uint64_t SupervisedChild::starts() const {
  std::lock_guard lock(mu_);
  return starts_;
}
std::optional<ChildExit> SupervisedChild::lastExit() const {
  std::lock_guard lock(mu_);
  return last_exit_;
}
size_t SupervisedChild::exitsWithin(Millis window) const {
  std::lock_guard lock(mu_);
  const auto since = std::chrono::steady_clock::now() - window;
  size_t n = 0;
  for (const auto& t : exits_) n += t >= since;
  return n;
}

std::shared_ptr<SupervisedChild> supervisedChild(const std::string& check) {
  std::lock_guard lock(registry_mu);
  auto it = registry().find(check);
  return it == registry().end() ? nullptr : it->second;
}

std::shared_ptr<SupervisedChild> adoptSupervisedChild(const std::string& check, asio::io_context& io,
                                                      const ChildSpec& spec, bool& created) {
  std::lock_guard lock(registry_mu);
  auto& slot = registry()[check];
  created = !slot || slot->spec() != spec || &slot->io() != &io;
  if (created) slot = std::make_shared<SupervisedChild>(io, spec);
  return slot;
}

}  // namespace hale::agent::platform
