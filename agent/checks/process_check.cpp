// process: whether a process is running, found by pidfile or by name, its
// memory use, CPU share over the interval and the zombies it leaves; or a
// supervised child the agent starts itself (argv), whose exit is seen at once
// through a pidfd and reported with its code or signal, and as an OOM kill when
// its memory cgroup's oom_kill counter grew; or a systemd unit (`unit`), read
// through `systemctl show`: critical when not active, a warning when systemd
// restarted it since the last run.
//
//   [[check]]
//   name = "broker"
//   kind = "process"
//   pidfile = "/run/mosquitto/mosquitto.pid"   # or: match_name = "mosquitto"
//   min_count = 1
//   cpu_warn_percent = 80       # of one core, all matches together
//   zombies_warn = 5
//
//   [[check]]
//   name = "worker"
//   kind = "process"
//   argv = ["/usr/local/bin/worker", "--foreground"]   # supervised: restart it with action "restart"
//
//   [[check]]
//   name = "web"
//   kind = "process"
//   unit = "nginx.service"
//
// This file reads the keys every mode shares and builds the mode's check:
// process_match.cpp (pidfile, name, command line), process_unit.cpp (systemd),
// process_supervised.cpp (argv); process_usage.cpp measures for all three.
#include "agent/checks/process_modes.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"pidfile", config::FieldType::String, "", "file holding the pid of the process"},
    {"match_name", config::FieldType::String, "", "process name (comm, as in ps -o comm) to look for"},
    {"match_cmdline", config::FieldType::String, "", "substring of the full command line to look for"},
    {"unit", config::FieldType::String, "",
     "a systemd unit (nginx.service): critical unless active, warns when NRestarts grew since the last run"},
    {"min_count", config::FieldType::Integer, "1", "fewer matching processes than this is critical"},
    {"rss_warn_mb", config::FieldType::Float, "", "resident memory (MiB, all matches) that warns"},
    {"rss_crit_mb", config::FieldType::Float, "", "resident memory (MiB, all matches) that is critical"},
    {"cpu_warn_percent", config::FieldType::Float, "",
     "CPU use (% of one core, all matches, user+system over the time since the last run) that warns"},
    {"cpu_crit_percent", config::FieldType::Float, "", "CPU use (% of one core) that is critical"},
    {"zombies_warn", config::FieldType::Integer, "",
     "this many zombies among the matches and their children warns (metric zombies)"},
    {"proc_root", config::FieldType::String, "/proc", "where procfs is mounted (tests point it at fixtures)"},
    {"cgroup_root", config::FieldType::String, "/sys/fs/cgroup",
     "supervised: where cgroupfs is mounted; a SIGKILL is reported as an OOM kill when the child's memory cgroup "
     "counted one (memory.events or v1 memory.oom_control)"},
    {"argv", config::FieldType::StringArray, "", "supervised: the agent starts this program (absolute path) itself"},
    {"env", config::FieldType::StringArray, "", "supervised: extra environment, KEY=VALUE"},
    {"cwd", config::FieldType::String, "", "supervised: working directory"},
    {"user", config::FieldType::String, "",
     "supervised: run the child as this user and its primary group (the agent must run as root; resolved when the "
     "config is read)"},
    {"crash_loop_exits", config::FieldType::Integer, "3",
     "supervised: this many exits within crash_loop_window is a crash loop"},
    {"crash_loop_window", config::FieldType::Duration, "60s", "supervised: window for crash_loop_exits"},
};

CheckPtr build(CommonSettings common, const config::Fields& f, const Clock& clock,
               const platform::SystemdUnits& units) {
  std::optional<platform::ChildSpec> child;
  if (f.has("argv")) child = readChildSpec(f);
  if (!child && f.has("user")) f.fail("user", "only for a supervised child (argv)");
  const auto unit = f.optStr("unit");
  const int targets = int(f.has("pidfile")) + int(f.has("match_name")) + int(f.has("match_cmdline")) +
                      int(child.has_value()) + int(unit.has_value());
  if (targets != 1) f.fail("pidfile", "give exactly one of pidfile, match_name, match_cmdline, argv, unit");
  if (unit && (unit->empty() || unit->front() == '-' || unit->find_first_of(" \t\n/") != std::string::npos))
    f.fail("unit", "expected a unit name such as nginx.service");
  if (f.integer("min_count") < 0) f.fail("min_count", "must not be negative");
  ProcessSettings settings{f.str("proc_root"), UsageLimits::read(f)};
  if (child) return makeSupervisedProcessCheck(std::move(common), f, clock, std::move(settings), std::move(*child));
  if (unit) return makeUnitProcessCheck(std::move(common), f, clock, std::move(settings), units);
  return makeMatchedProcessCheck(std::move(common), f, clock, std::move(settings));
}

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv& env) {
  return build(std::move(common), fields, env.clock, platform::realSystemdUnits());
}

}  // namespace

/// For tests: a process check whose unit target reads a fake systemd.
CheckPtr makeProcessCheckForTest(CommonSettings common, const config::Fields& fields, const Clock& clock,
                                 const platform::SystemdUnits& units) {
  return build(std::move(common), fields, clock, units);
}

extern const CheckKind kProcessCheck;
const CheckKind kProcessCheck{"process",
                              "a process found by pidfile, name, command line or systemd unit, or supervised", kFields,
                              Component::Compute, &make};

}  // namespace hale::agent::checks
