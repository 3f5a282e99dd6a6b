// restart: the check's supervised child (process check with argv), with the
// crash-loop backoff; a systemd unit through `systemctl restart UNIT`; or a
// process in a pidfile: signal it, wait for it to go (SIGKILL after
// stop_timeout), then run its start command. Programs started for a unit or a
// pidfile must be on the allowlist; a supervised child was started by the
// agent's own configuration already.
//
//   [[check.remedy]]
//   action = "restart"
//   supervised = true
//
//   [[check.remedy]]
//   action = "restart"
//   unit = "nginx.service"
//
//   [[check.remedy]]
//   action = "restart"
//   pidfile = "/run/worker.pid"
//   start = ["/usr/local/bin/worker", "--daemon"]
#include "agent/platform/process_table.h"
#include "agent/platform/program_run.h"
#include "agent/platform/supervisor.h"
#include "agent/remedies/remedy.h"

#include <fmt/format.h>
#include <signal.h>

#include <thread>

namespace hale::agent::remedies {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"supervised", config::FieldType::Bool, "false", "restart the check's supervised child (process check with argv)"},
    {"unit", config::FieldType::String, "", "systemd unit to restart with systemctl"},
    {"systemctl", config::FieldType::String, "/usr/bin/systemctl", "path of systemctl (must be on the allowlist)"},
    {"pidfile", config::FieldType::String, "", "file holding the pid of the process to restart"},
    {"signal", config::FieldType::String, "TERM", "signal that asks the process to stop"},
    {"stop_timeout", config::FieldType::Duration, "10s", "then SIGKILL"},
    {"start", config::FieldType::StringArray, "", "argv that starts the process again (it must detach)"},
    {"timeout", config::FieldType::Duration, "60s", "limit for systemctl or the start command"},
};

// A zombie counts as gone: where nothing reaps it (PID 1 in a container), it
// would otherwise hold the restart for the whole stop_timeout.
bool alive(int pid) {
  if (::kill(pid, 0) != 0) return false;
  const auto info = platform::ProcFsTable("/proc", false).get(pid);
  return info && info->state != 'Z';
}

class RestartAction final : public Action {
 public:
  explicit RestartAction(const config::Fields& f)
      : unit_(f.optStr("unit").value_or("")), systemctl_(f.str("systemctl")),
        pidfile_(f.optStr("pidfile").value_or("")), signal_(signalByName(f.str("signal"))),
        stop_timeout_(f.duration("stop_timeout")), supervised_(f.boolean("supervised")) {
    if (int(!unit_.empty()) + int(!pidfile_.empty()) + int(supervised_) != 1)
      f.fail("unit", "give exactly one of unit, pidfile, supervised = true");
    if (supervised_) return;
    if (signal_ == 0) f.fail("signal", "unknown signal");
    spec_.timeout = f.duration("timeout");
    if (!unit_.empty()) {
      spec_.argv = {systemctl_, "restart", unit_};
    } else {
      if (!f.has("start")) f.fail("pidfile", "a pidfile restart needs `start`, the argv that starts it again");
      spec_.argv = f.strings("start");
    }
    if (spec_.argv.empty() || spec_.argv[0].empty() || spec_.argv[0][0] != '/')
      f.fail(unit_.empty() ? "start" : "systemctl", "the program must be an absolute path");
  }

  ActionResult execute(const ActionContext& ctx) override {
    if (supervised_) return restartChild(ctx);
    std::string stopped;
    if (!pidfile_.empty()) {
      if (auto pid = platform::readPidFile(pidfile_); pid && *pid > 1 && alive(*pid)) {
        ::kill(*pid, signal_);
        const auto deadline = std::chrono::steady_clock::now() + stop_timeout_;
        while (alive(*pid) && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (alive(*pid)) {
          ::kill(*pid, SIGKILL);
          stopped = fmt::format("pid {} ignored signal {}, killed; ", *pid, signal_);
        } else {
          stopped = fmt::format("pid {} stopped; ", *pid);
        }
      }
    }
    platform::ProgramSpec spec = spec_;
    spec.env = contextEnv(ctx);
    auto r = runAndReport(spec);
    r.detail = stopped + r.detail;
    return r;
  }
  std::vector<std::string> programs() const override {
    return supervised_ ? std::vector<std::string>{} : std::vector<std::string>{spec_.argv[0]};
  }
  std::string resource() const override { return supervised_ ? "" : unit_.empty() ? pidfile_ : unit_; }
  std::optional<Millis> crashUptime(const ActionContext& ctx) const override {
    if (!supervised_) return std::nullopt;
    auto child = platform::supervisedChild(ctx.check);
    if (!child || child->running()) return std::nullopt;
    const auto exit = child->lastExit();
    return exit ? std::optional<Millis>(exit->uptime) : std::nullopt;
  }
  std::string describe() const override {
    if (supervised_) return "restart the supervised child";
    return unit_.empty() ? fmt::format("restart {} with {}", pidfile_, spec_.argv[0])
                         : fmt::format("{} restart {}", systemctl_, unit_);
  }

 private:
  static ActionResult restartChild(const ActionContext& ctx) {
    ActionResult r;
    auto child = platform::supervisedChild(ctx.check);
    if (!child) {
      r.detail = fmt::format("check '{}' has no supervised child (process check with argv)", ctx.check);
      return r;
    }
    r.argv = child->spec().argv;
    if (auto ok = child->startFromWorker(std::chrono::seconds(10)); !ok) {
      r.detail = ok.error().message;
      return r;
    }
    r.ok = true;
    r.detail = fmt::format("started pid {} (start #{})", child->pid(), child->starts());
    return r;
  }

  std::string unit_, systemctl_, pidfile_;
  int signal_;
  Millis stop_timeout_;
  bool supervised_;
  platform::ProgramSpec spec_;
};

ActionPtr make(const config::Fields& fields, const ActionEnv&) { return std::make_unique<RestartAction>(fields); }

}  // namespace

extern const ActionKind kRestartAction;
const ActionKind kRestartAction{"restart", "restart a systemd unit, or a pidfile process with a start command", kFields,
                                &make};

}  // namespace hale::agent::remedies
