#include "agent/platform/systemd_units.h"
#include "agent/platform/command_capture.h"

#include <fmt/format.h>

#include <charconv>

namespace hale::agent::platform {
namespace {
template <class T>
bool parseNumber(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::string_view lastLine(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const size_t nl = text.rfind('\n');
  return nl == std::string_view::npos ? text : text.substr(nl + 1);
}

class RealSystemdUnits final : public SystemdUnits {
 public:
  Result<UnitState> show(const std::string& unit, Deadline deadline) const override {
    auto run = runCaptured({"systemctl", "show", "-p", "LoadState,ActiveState,SubState,MainPID,NRestarts", "--", unit},
                           deadline, 16 * 1024);
    if (!run) return makeError(fmt::format("systemctl: {}", run.error().message));
    if (run->timed_out) return makeError("systemctl show timed out");
    if (run->exit_code != 0)
      return makeError(fmt::format(
          "systemctl show {} failed ({}): {}", unit,
          run->term_signal ? fmt::format("signal {}", run->term_signal) : fmt::format("exit {}", run->exit_code),
          lastLine(run->output)));
    auto state = parseUnitShow(run->output);
    if (!state) return makeError(fmt::format("systemctl show {}: unexpected output: {}", unit, lastLine(run->output)));
    return *state;
  }
};
}  // namespace

std::optional<UnitState> parseUnitShow(std::string_view text) {
  UnitState s;
  bool active = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "LoadState") {
      s.load_state = value;
    } else if (key == "ActiveState") {
      s.active_state = value;
      active = !value.empty();
    } else if (key == "SubState") {
      s.sub_state = value;
    } else if (key == "MainPID") {
      if (!parseNumber(value, s.main_pid) || s.main_pid < 0) return std::nullopt;
    } else if (key == "NRestarts") {
      // "[not set]" on units without the property.
      uint64_t n = 0;
      if (parseNumber(value, n)) s.restarts = n;
    }
  }
  if (!active) return std::nullopt;
  return s;
}

const SystemdUnits& realSystemdUnits() {
  static RealSystemdUnits units;
  return units;
}

}  // namespace hale::agent::platform
