#pragma once
// The OOM-kill counter of a process's memory cgroup: memory.events (cgroup v2)
// or memory.oom_control (v1), both with an "oom_kill N" line. Parsers are pure
// functions; the reader takes proc and cgroup roots so fixture trees stand in.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::platform {

/// Files that may hold the oom_kill counter for the cgroups listed in the text
/// of /proc/<pid>/cgroup, best first: v2 memory.events, then v1 memory.oom_control.
std::vector<std::string> oomCounterFiles(std::string_view proc_cgroup, const std::string& cgroup_root);

/// The value of the "oom_kill N" line; nullopt when absent (kernels before 4.13).
std::optional<uint64_t> parseOomKill(std::string_view text);

/// The first readable counter file for `pid` ("self" allowed) under the roots; "" when none.
std::string findOomCounterFile(const std::string& proc_root, const std::string& pid, const std::string& cgroup_root);
/// Reads the counter from a file found above.
std::optional<uint64_t> readOomKill(const std::string& file);

}  // namespace hale::agent::platform
