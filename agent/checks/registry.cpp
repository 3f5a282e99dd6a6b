// The list of check kinds. Adding a kind: write <kind>_check.cpp with its
// FieldSpec table and factory, then add one line here.
#include "agent/checks/check.h"

#include <fmt/format.h>

namespace hale::agent::checks {

extern const CheckKind kDiskCheck;
extern const CheckKind kProcessCheck;
extern const CheckKind kCertificateCheck;
extern const CheckKind kSystemCheck;
extern const CheckKind kTcpProbeCheck;
extern const CheckKind kHttpProbeCheck;
extern const CheckKind kCommandProbeCheck;
extern const CheckKind kFileCheck;
extern const CheckKind kLogCheck;
extern const CheckKind kTimeSyncCheck;
extern const CheckKind kSmartCheck;
extern const CheckKind kAgentStateCheck;

namespace {
const CheckKind* const kKinds[] = {
    &kDiskCheck,         &kProcessCheck, &kCertificateCheck, &kSystemCheck,   &kTcpProbeCheck, &kHttpProbeCheck,
    &kCommandProbeCheck, &kFileCheck,    &kLogCheck,         &kTimeSyncCheck, &kSmartCheck, &kAgentStateCheck,
};

std::vector<CheckKind> materialize() {
  std::vector<CheckKind> out;
  for (const auto* k : kKinds) out.push_back(*k);
  return out;
}

constexpr config::FieldSpec kCommonFields[] = {
    {"name", config::FieldType::String, "", "unique name of this check on the node ([A-Za-z0-9._-])", true},
    {"kind", config::FieldType::String, "", "which kind of check (see `hale-agent help`)", true},
    {"interval", config::FieldType::Duration, "10s", "how often the check runs"},
    {"timeout", config::FieldType::Duration, "5s", "a run taking longer reports unknown"},
    {"component", config::FieldType::String, "", "compute, storage, network, security or builds (default per kind)"},
    {"severity", config::FieldType::String, "crit", "weight of an issue this check opens: warn or crit"},
    {"fail_after", config::FieldType::Integer, "3", "consecutive bad results that open an issue"},
    {"pass_after", config::FieldType::Integer, "2", "consecutive good results that close it"},
    {"anomaly_metrics", config::FieldType::StringArray, "", "metrics watched for anomalies (EWMA mean and variance)"},
    {"anomaly_sigma", config::FieldType::Float, "3", "a value this many standard deviations from the mean warns"},
    {"anomaly_warmup", config::FieldType::Integer, "20", "results seen before anomalies are judged"},
    {"anomaly_alpha", config::FieldType::Float, "0.1", "EWMA weight of the newest value (0..1)"},
};
}  // namespace

std::span<const CheckKind> allKinds() {
  static const std::vector<CheckKind> kinds = materialize();
  return kinds;
}

const CheckKind* findKind(std::string_view name) {
  for (const auto& k : allKinds())
    if (k.name == name) return &k;
  return nullptr;
}

std::span<const config::FieldSpec> commonFields() { return kCommonFields; }

CheckStatus grade(double value, std::optional<double> warn, std::optional<double> crit) {
  if (crit && value >= *crit) return CheckStatus::Crit;
  if (warn && value >= *warn) return CheckStatus::Warn;
  return CheckStatus::Ok;
}

CheckPtr makeCheck(const toml::table& table, const std::string& file, const CheckEnv& env) {
  const auto* kind_node = table.get("kind");
  const auto* name_node = table.get("name");
  const std::string name = name_node && name_node->is_string() ? name_node->as_string()->get() : "?";
  if (!kind_node || !kind_node->is_string()) {
    throw config::ConfigError(config::positionOf(kind_node ? *kind_node : table, file),
                              fmt::format("check '{}': missing required key 'kind' (string)", name));
  }
  const std::string kind_name = kind_node->as_string()->get();
  const CheckKind* kind = findKind(kind_name);
  if (!kind) {
    std::string known;
    for (const auto& k : allKinds()) known += (known.empty() ? "" : ", ") + std::string(k.name);
    throw config::ConfigError(config::positionOf(*kind_node, file),
                              fmt::format("check '{}': unknown kind '{}' (known kinds: {})", name, kind_name, known));
  }
  std::vector<config::FieldSpec> spec(kCommonFields, kCommonFields + std::size(kCommonFields));
  spec.insert(spec.end(), kind->fields.begin(), kind->fields.end());
  const auto fields = config::readFields(table, spec, file, fmt::format("check '{}'", name));

  CommonSettings common;
  common.name = fields.str("name");
  if (!wire::isValidId(common.name)) fields.fail("name", "expected 1-64 characters of [A-Za-z0-9._-]");
  common.kind = kind_name;
  common.interval = fields.duration("interval");
  if (common.interval.count() < 100) fields.fail("interval", "must be at least 100ms");
  common.timeout = fields.duration("timeout");
  if (common.timeout.count() <= 0) fields.fail("timeout", "must be positive");
  common.component = kind->default_component;
  if (auto c = fields.optStr("component"); c && !c->empty()) {
    auto parsed = wire::parseComponent(*c);
    if (!parsed) fields.fail("component", "expected one of compute, storage, network, security, builds");
    common.component = *parsed;
  }
  const auto severity = wire::parseStatus(fields.str("severity"));
  if (!severity || (*severity != CheckStatus::Warn && *severity != CheckStatus::Crit))
    fields.fail("severity", "expected warn or crit");
  common.severity = *severity;
  common.fail_after = static_cast<int>(fields.integer("fail_after"));
  common.pass_after = static_cast<int>(fields.integer("pass_after"));
  if (common.fail_after < 1 || common.fail_after > 1000) fields.fail("fail_after", "expected 1..1000");
  if (common.pass_after < 1 || common.pass_after > 1000) fields.fail("pass_after", "expected 1..1000");
  common.anomaly.metrics = fields.strings("anomaly_metrics");
  for (const auto& m : common.anomaly.metrics)
    if (!wire::isValidId(m)) fields.fail("anomaly_metrics", fmt::format("'{}' is not a metric name", m));
  common.anomaly.sigma = fields.number("anomaly_sigma");
  common.anomaly.warmup = static_cast<int>(fields.integer("anomaly_warmup"));
  common.anomaly.alpha = fields.number("anomaly_alpha");
  if (common.anomaly.sigma <= 0) fields.fail("anomaly_sigma", "must be above 0");
  if (common.anomaly.warmup < 2 || common.anomaly.warmup > 100000) fields.fail("anomaly_warmup", "expected 2..100000");
  if (common.anomaly.alpha <= 0 || common.anomaly.alpha >= 1)
    fields.fail("anomaly_alpha", "expected a number between 0 and 1");
  return kind->make(std::move(common), fields, env);
}

}  // namespace hale::agent::checks
