#pragma once
// The three ways a process check finds its process, one file each; the front
// (process_check.cpp) reads the shared keys, checks that exactly one target
// is given and builds the mode's check.
#include "agent/checks/check.h"
#include "agent/checks/process_usage.h"
#include "agent/platform/supervisor.h"
#include "agent/platform/systemd_units.h"

namespace hale::agent::checks {

/// Keys every mode reads.
struct ProcessSettings {
  std::string proc_root;
  UsageLimits limits;
};

/// pidfile, match_name or match_cmdline (process_match.cpp).
CheckPtr makeMatchedProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock,
                                 ProcessSettings settings);
/// unit (process_unit.cpp).
CheckPtr makeUnitProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock,
                              ProcessSettings settings, const platform::SystemdUnits& units);
/// argv, env, cwd, user: what the supervised child is started with; throws config::ConfigError
/// (process_supervised.cpp).
platform::ChildSpec readChildSpec(const config::Fields& f);
CheckPtr makeSupervisedProcessCheck(CommonSettings common, const config::Fields& f, const Clock& clock,
                                    ProcessSettings settings, platform::ChildSpec spec);

}  // namespace hale::agent::checks
