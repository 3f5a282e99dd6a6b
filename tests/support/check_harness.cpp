#include "tests/support/check_harness.h"

#include <filesystem>
#include <stdexcept>

namespace hale::test {

agent::checks::CheckPtr checkFromToml(const std::string& toml_text, const Clock& clock) {
  const auto root = config::parseText(toml_text, "checks.toml");
  const auto* checks = root["check"].as_array();
  if (!checks || checks->empty() || !checks->front().is_table())
    throw std::runtime_error("test TOML has no [[check]] table");
  const agent::checks::CheckEnv env{clock, std::filesystem::temp_directory_path().string()};
  return agent::checks::makeCheck(*checks->front().as_table(), "checks.toml", env);
}

CheckParts checkPartsFromToml(const std::string& toml_text) {
  const auto root = config::parseText(toml_text, "checks.toml");
  const auto* checks = root["check"].as_array();
  if (!checks || checks->empty() || !checks->front().is_table())
    throw std::runtime_error("test TOML has no [[check]] table");
  const auto& table = *checks->front().as_table();
  const std::string kind = table["kind"].value_or(std::string());
  const auto* spec_of_kind = agent::checks::findKind(kind);
  if (!spec_of_kind) throw std::runtime_error("test TOML names no known kind");
  std::vector<config::FieldSpec> spec(agent::checks::commonFields().begin(), agent::checks::commonFields().end());
  spec.insert(spec.end(), spec_of_kind->fields.begin(), spec_of_kind->fields.end());
  CheckParts parts;
  parts.fields = config::readFields(table, spec, "checks.toml", "check");
  parts.common.name = parts.fields.str("name");
  parts.common.kind = kind;
  return parts;
}

std::string configErrorOf(const std::string& toml_text) {
  try {
    (void)checkFromToml(toml_text);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace hale::test
