// Fuzz target: the procfs and cgroupfs text the process check parses
// (/proc/<pid>/stat, /proc/<pid>/cgroup, memory.events / memory.oom_control)
// and the `systemctl show` output of a unit target.
#include "agent/platform/cgroup.h"
#include "agent/platform/process_table.h"
#include "agent/platform/systemd_units.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)hale::agent::platform::parseProcStat(text);
  (void)hale::agent::platform::oomCounterFiles(text, "/sys/fs/cgroup");
  (void)hale::agent::platform::parseOomKill(text);
  (void)hale::agent::platform::parseUnitShow(text);
  return 0;
}
