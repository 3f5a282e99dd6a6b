// The list of drillable check kinds. Adding one: write <kind>_drill.cpp with
// its injector, then add one line here.
#include "agent/drills/drill.h"

#include <vector>

namespace hale::agent::drills {

extern const DrillKind kProcessDrill;
extern const DrillKind kDiskDrill;
extern const DrillKind kCertificateDrill;
extern const DrillKind kTcpProbeDrill;
extern const DrillKind kHttpProbeDrill;
extern const DrillKind kLogDrill;

namespace {
const DrillKind* const kDrills[] = {
    &kProcessDrill, &kDiskDrill, &kCertificateDrill, &kTcpProbeDrill, &kHttpProbeDrill, &kLogDrill,
};

constexpr config::FieldSpec kFields[] = {
    {"allow", config::FieldType::Bool, "false", "process with pidfile: a drill may SIGKILL the process in the pidfile"},
    {"dir", config::FieldType::String, "",
     "disk: sandbox directory on the watched file system; the drill's fill file is created (and removed) there"},
    {"max_bytes", config::FieldType::Integer, "1073741824", "disk: refuse a drill that would write more than this"},
    {"delay", config::FieldType::Duration, "",
     "http_probe: how long the drill's slow listener waits (default: 2 x timeout)"},
    {"line", config::FieldType::String, "",
     "log: the line appended to the sandbox copy (default: the first of a few common error lines the patterns match)"},
};
}  // namespace

std::span<const DrillKind> allDrills() {
  static const std::vector<DrillKind> kinds = [] {
    std::vector<DrillKind> out;
    for (const auto* d : kDrills) out.push_back(*d);
    return out;
  }();
  return kinds;
}

const DrillKind* findDrill(std::string_view check_kind) {
  for (const auto& d : allDrills())
    if (d.check_kind == check_kind) return &d;
  return nullptr;
}

std::span<const config::FieldSpec> drillFields() { return kFields; }

DrillSettings parseDrillSettings(const toml::node& node, const std::string& file, const std::string& check) {
  const auto* table = node.as_table();
  if (!table) throw config::ConfigError(config::positionOf(node, file), "'drill' must be a table ([check.drill])");
  const auto f = config::readFields(*table, kFields, file, "drill of check '" + check + "'");
  DrillSettings s;
  s.allow = f.boolean("allow");
  s.dir = f.optStr("dir").value_or("");
  if (!s.dir.empty() && s.dir[0] != '/') f.fail("dir", "must be an absolute path");
  if (s.dir == "/") f.fail("dir", "must not be /");
  const auto max = f.integer("max_bytes");
  if (max < 1) f.fail("max_bytes", "must be positive");
  s.max_bytes = static_cast<uint64_t>(max);
  s.delay = f.optDuration("delay");
  s.line = f.optStr("line").value_or("");
  if (s.line.find_first_of("\r\n") != std::string::npos) f.fail("line", "must be one line");
  return s;
}

std::optional<CheckTable> findCheckTable(const toml::table& root, const std::string& file, const std::string& name) {
  const auto* arr = root.get("check") ? root.get("check")->as_array() : nullptr;
  if (!arr) return std::nullopt;
  for (const auto& item : *arr) {
    const auto* t = item.as_table();
    if (!t || !t->get("name") || t->get("name")->value<std::string>() != name) continue;
    CheckTable out{*t, {}};
    if (const auto* d = t->get("drill")) out.settings = parseDrillSettings(*d, file, name);
    out.table.erase("drill");
    out.table.erase("remedy");
    return out;
  }
  return std::nullopt;
}

}  // namespace hale::agent::drills
