#include "agent/checks/smart_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace hale::agent::checks {
namespace {

using nlohmann::json;

const json* at(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::optional<int64_t> integer(const json& j, std::initializer_list<const char*> path) {
  const json* v = at(j, path);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned()) return static_cast<int64_t>(std::min<uint64_t>(v->get<uint64_t>(), INT64_MAX));
  return std::nullopt;
}

std::string text(const json& j, std::initializer_list<const char*> path) {
  const json* v = at(j, path);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// The count in an ATA attribute's raw value: the leading number of raw.string
// (smartctl's own decoding: "35 (Min/Max 20/45)"), else raw.value, which some
// vendors pack with other fields.
std::optional<int64_t> rawCount(const json& attribute) {
  const std::string s = text(attribute, {"raw", "string"});
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p != s.data()) return v;
  return integer(attribute, {"raw", "value"});
}

void readAtaAttributes(const json& doc, SmartReport& r) {
  const json* table = at(doc, {"ata_smart_attributes", "table"});
  if (!table || !table->is_array()) return;
  for (const auto& a : *table) {
    const auto id = integer(a, {"id"});
    if (!id) continue;
    if (*id == 5) r.reallocated_sectors = rawCount(a);
    if (*id == 197) r.pending_sectors = rawCount(a);
    if (*id == 198) r.offline_uncorrectable = rawCount(a);
    if ((*id == 194 || *id == 190) && !r.temperature_c) r.temperature_c = rawCount(a);
    if (*id == 9 && !r.power_on_hours) r.power_on_hours = rawCount(a);
    if (text(a, {"when_failed"}) == "now") {
      const std::string name = text(a, {"name"});
      r.failing_attributes.push_back(name.empty() ? "attribute " + std::to_string(*id) : name);
    }
  }
}

void readNvmeLog(const json& doc, SmartReport& r) {
  const json* log = at(doc, {"nvme_smart_health_information_log"});
  if (!log || !log->is_object()) return;
  r.critical_warning = integer(*log, {"critical_warning"});
  r.percentage_used = integer(*log, {"percentage_used"});
  r.media_errors = integer(*log, {"media_errors"});
  r.available_spare = integer(*log, {"available_spare"});
  r.available_spare_threshold = integer(*log, {"available_spare_threshold"});
  if (!r.temperature_c) r.temperature_c = integer(*log, {"temperature"});
  if (!r.power_on_hours) r.power_on_hours = integer(*log, {"power_on_hours"});
}

}  // namespace

Result<SmartReport> parseSmartctlJson(std::string_view input) {
  const size_t brace = input.find('{');
  if (brace == std::string_view::npos) return makeError("no JSON object in smartctl's output");
  const auto doc = json::parse(input.substr(brace), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return makeError("smartctl's output is not a JSON object");
  SmartReport r;
  r.device = text(doc, {"device", "name"});
  r.protocol = text(doc, {"device", "protocol"});
  r.model = text(doc, {"model_name"});
  if (r.model.empty()) r.model = text(doc, {"scsi_model_name"});
  r.exit_status = static_cast<int>(integer(doc, {"smartctl", "exit_status"}).value_or(-1));
  if (const json* msgs = at(doc, {"smartctl", "messages"}); msgs && msgs->is_array()) {
    for (const auto& m : *msgs)
      if (text(m, {"severity"}) == "error" && !text(m, {"string"}).empty()) r.errors.push_back(text(m, {"string"}));
  }
  if (const json* passed = at(doc, {"smart_status", "passed"}); passed && passed->is_boolean())
    r.passed = passed->get<bool>();
  r.temperature_c = integer(doc, {"temperature", "current"});
  r.power_on_hours = integer(doc, {"power_on_time", "hours"});
  r.grown_defects = integer(doc, {"scsi_grown_defect_list"});
  readAtaAttributes(doc, r);
  readNvmeLog(doc, r);
  return r;
}

std::string describeCriticalWarning(int64_t bits) {
  static constexpr const char* kBits[] = {"spare below threshold",         "temperature out of range",
                                          "reliability degraded",          "read-only",
                                          "volatile memory backup failed", "persistent memory read-only"};
  std::string out;
  for (int i = 0; i < 6; ++i)
    if (bits & (int64_t{1} << i)) out += (out.empty() ? "" : ", ") + std::string(kBits[i]);
  return out.empty() ? "unknown bits" : out;
}

}  // namespace hale::agent::checks
