// process, by systemd unit: read through `systemctl show` (a program run with
// a deadline, so the check is blocking): critical when the unit is not
// active, a warning when systemd restarted it since the last run; its main
// pid's memory, CPU share and zombies as for any process.
#include "agent/checks/deadline.h"
#include "agent/checks/process_modes.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

class UnitProcessCheck final : public Check {
 public:
  UnitProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock, ProcessSettings s,
                   const platform::SystemdUnits& units)
      : Check(std::move(common)), units_(units), unit_(f.str("unit")), table_(s.proc_root, false),
        meter_(table_, clock, s.limits) {}

  bool blocking() const override { return true; }

  Outcome run() override {
    auto state = units_.show(unit_, ownDeadline(common(), std::chrono::steady_clock::now()));
    if (!state) return Outcome{CheckStatus::Unknown, state.error().message, {}};
    const auto& u = *state;
    Outcome out;
    const bool up = u.active_state == "active" || u.active_state == "reloading";
    out.metric("count", up ? 1 : 0).metric("pid", u.main_pid);
    if (u.restarts) out.metric("restarts", static_cast<double>(*u.restarts));
    if (u.load_state == "not-found") {
      out.status = CheckStatus::Crit;
      out.message = fmt::format("{}: unit not found", unit_);
      return out;
    }
    if (!up) {
      out.status = CheckStatus::Crit;
      out.message = fmt::format("{}: {} ({})", unit_, u.active_state, u.sub_state);
      last_restarts_ = u.restarts;
      return out;
    }
    const Usage use = meter_.measurePid(u.main_pid);
    use.addMetrics(out);
    out.status = use.status;
    out.message = fmt::format("{}: {} ({}), main pid {}", unit_, u.active_state, u.sub_state, u.main_pid);
    if (u.restarts) out.message += fmt::format(", {} restarts", *u.restarts);
    if (u.restarts && last_restarts_ && *u.restarts > *last_restarts_) {
      out.status = std::max(out.status, CheckStatus::Warn);
      out.message += fmt::format(" ({} since the last run)", *u.restarts - *last_restarts_);
    }
    last_restarts_ = u.restarts;
    if (use.processes > 0) out.message += ", " + use.text();
    return out;
  }

 private:
  const platform::SystemdUnits& units_;
  std::string unit_;
  platform::ProcFsTable table_;
  UsageMeter meter_;
  std::optional<uint64_t> last_restarts_;  ///< NRestarts at the last run
};

}  // namespace

CheckPtr makeUnitProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock,
                              ProcessSettings settings, const platform::SystemdUnits& units) {
  return std::make_shared<UnitProcessCheck>(std::move(common), f, clock, std::move(settings), units);
}

}  // namespace hale::agent::checks
