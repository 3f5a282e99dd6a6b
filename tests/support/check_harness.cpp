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

std::string configErrorOf(const std::string& toml_text) {
  try {
    (void)checkFromToml(toml_text);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace hale::test
