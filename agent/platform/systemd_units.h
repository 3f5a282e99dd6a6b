#pragma once
// The state of a systemd unit as `systemctl show` reports it, behind an
// interface so the process check's unit logic is tested with a fake. The
// parser is a pure function over the key=value output.
#include "shared/net/net.h"  // Deadline
#include "shared/util/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hale::agent::platform {

using net::Deadline;

struct UnitState {
  std::string load_state;            ///< loaded, not-found, masked, ...
  std::string active_state;          ///< active, reloading, inactive, failed, activating, deactivating
  std::string sub_state;             ///< running, exited, dead, auto-restart, ...
  int main_pid = 0;                  ///< 0 when the unit has no main process
  std::optional<uint64_t> restarts;  ///< NRestarts; absent before systemd 235
};

/// Parses `systemctl show -p LoadState,ActiveState,SubState,MainPID,NRestarts`
/// output (key=value lines, any order). nullopt when ActiveState is missing or
/// a number does not parse.
std::optional<UnitState> parseUnitShow(std::string_view text);

class SystemdUnits {
 public:
  virtual ~SystemdUnits() = default;
  virtual Result<UnitState> show(const std::string& unit, Deadline deadline) const = 0;
};

/// Runs systemctl from PATH with argv, never through a shell.
const SystemdUnits& realSystemdUnits();

}  // namespace hale::agent::platform
