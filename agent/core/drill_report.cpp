// The report of a drill, for people (`hale-agent drill`), machines (--json) and the audit log.
#include "agent/core/drill_session.h"

#include <nlohmann/json.hpp>

namespace hale::agent {

std::string_view drillVerdictName(DrillVerdict v) {
  switch (v) {
    case DrillVerdict::Healed:
      return "healed";
    case DrillVerdict::NotHealed:
      return "not_healed";
    case DrillVerdict::NotDrillable:
      return "not_drillable";
    case DrillVerdict::ConfigError:
      return "config_error";
  }
  return "?";
}

int drillExitCode(DrillVerdict v) {
  switch (v) {
    case DrillVerdict::Healed:
      return 0;
    case DrillVerdict::NotHealed:
      return 1;
    case DrillVerdict::ConfigError:
      return 2;
    case DrillVerdict::NotDrillable:
      return 3;
  }
  return 1;
}

nlohmann::json toJson(const DrillReport& r) {
  nlohmann::json decisions = nlohmann::json::array();
  for (const auto& d : r.decisions)
    decisions.push_back({{"action", d.action},
                         {"outcome", wire::remediationOutcomeName(d.outcome)},
                         {"reason", d.reason},
                         {"at_ms", d.at_ms}});
  nlohmann::json j{{"check", r.check},
                   {"kind", r.kind},
                   {"verdict", drillVerdictName(r.verdict)},
                   {"healed", r.verdict == DrillVerdict::Healed},
                   {"fault", r.fault},
                   {"reason", r.reason},
                   {"issue_id", r.issue_id},
                   {"decisions", decisions}};
  j["healed_by"] = r.healed_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.healed_by);
  j["detect_ms"] = r.detect_ms ? nlohmann::json(*r.detect_ms) : nlohmann::json(nullptr);
  j["heal_ms"] = r.heal_ms ? nlohmann::json(*r.heal_ms) : nlohmann::json(nullptr);
  return j;
}

}  // namespace hale::agent
