// process: SIGKILL the watched process. A supervised child (argv) is the
// agent's own; a process found by pidfile is killed only when its check says
// `[check.drill] allow = true`. Name and command-line matches are not drilled:
// they may match processes nobody meant to offer.
#include "agent/drills/drill.h"
#include "agent/platform/process_table.h"
#include "agent/platform/supervisor.h"

#include <fmt/format.h>

#include <csignal>
#include <cstring>

#include <unistd.h>

namespace hale::agent::drills {
namespace {

class Killed final : public Fault {
 public:
  Killed(int pid, std::string what) : pid_(pid), what_(std::move(what)) {}
  std::string describe() const override { return fmt::format("SIGKILL sent to {} (pid {})", what_, pid_); }

 private:
  int pid_;
  std::string what_;
};

class ProcessInjector final : public Injector {
 public:
  Result<FaultPtr> inject(const Target& t, asio::io_context&) override {
    const std::string& name = t.check.name();
    if (t.table.get("argv")) {
      auto child = platform::supervisedChild(name);
      if (!child || !child->running()) return makeError("the supervised child is not running");
      const int pid = child->pid();
      if (::kill(pid, SIGKILL) != 0) return makeError(fmt::format("cannot kill pid {}: {}", pid, std::strerror(errno)));
      return FaultPtr(std::make_unique<Killed>(pid, "the supervised child"));
    }
    const auto* pidfile = t.table.get("pidfile");
    if (!pidfile || !pidfile->is_string())
      return makeError(
          "not drillable: only supervised (argv) and pidfile processes are; name and command-line "
          "matches may hit processes nobody offered");
    if (!t.settings.allow)
      return makeError("not drillable: killing the process in a pidfile needs `allow = true` in [check.drill]");
    const std::string path = pidfile->as_string()->get();
    const auto pid = platform::readPidFile(path);
    if (!pid) return makeError(fmt::format("{}: missing or holds no pid", path));
    if (*pid <= 1 || *pid == ::getpid() || *pid == ::getppid())
      return makeError(fmt::format("{}: refusing to kill pid {}", path, *pid));
    if (::kill(*pid, SIGKILL) != 0) return makeError(fmt::format("cannot kill pid {}: {}", *pid, std::strerror(errno)));
    return FaultPtr(std::make_unique<Killed>(*pid, "the process in " + path));
  }
};

InjectorPtr make() { return std::make_unique<ProcessInjector>(); }
}  // namespace

extern const DrillKind kProcessDrill;
const DrillKind kProcessDrill{"process", "SIGKILL the supervised child, or the pidfile's process when allowed", &make};

}  // namespace hale::agent::drills
