// kill: sends a signal to the process named by a pidfile.
//
//   [[check.remedy]]
//   action = "kill"
//   pidfile = "/run/worker.pid"
//   signal = "TERM"
#include "agent/platform/process_table.h"
#include "agent/remedies/remedy.h"

#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <cstring>

namespace hale::agent::remedies {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"pidfile", config::FieldType::String, "", "file holding the pid to signal", true},
    {"signal", config::FieldType::String, "TERM", "signal name (TERM, KILL, HUP, ...) or number"},
};

class KillAction final : public Action {
 public:
  explicit KillAction(const config::Fields& f) : pidfile_(f.str("pidfile")), signal_(signalByName(f.str("signal"))) {
    if (signal_ == 0) f.fail("signal", "unknown signal");
  }

  ActionResult execute(const ActionContext&) override {
    ActionResult r;
    const auto pid = platform::readPidFile(pidfile_);
    if (!pid || *pid <= 1) {
      r.detail = fmt::format("{}: no valid pid", pidfile_);
      return r;
    }
    if (::kill(*pid, signal_) != 0) {
      r.detail = fmt::format("kill({}, {}): {}", *pid, signal_, std::strerror(errno));
      return r;
    }
    r.ok = true;
    r.detail = fmt::format("sent signal {} to pid {}", signal_, *pid);
    return r;
  }
  std::string resource() const override { return pidfile_; }
  std::string describe() const override { return fmt::format("kill -{} $(cat {})", signal_, pidfile_); }

 private:
  std::string pidfile_;
  int signal_;
};

ActionPtr make(const config::Fields& fields, const ActionEnv&) { return std::make_unique<KillAction>(fields); }

}  // namespace

extern const ActionKind kKillAction;
const ActionKind kKillAction{"kill", "send a signal to the process in a pidfile", kFields, &make};

}  // namespace hale::agent::remedies
