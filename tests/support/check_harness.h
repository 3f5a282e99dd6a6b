#pragma once
// Building checks from TOML text in tests, as the agent's loader would.
#include "agent/checks/check.h"
#include "tests/support/harness.h"

#include <string>

namespace hale::test {

/// Builds the first [[check]] of `toml_text` as if read from "checks.toml".
agent::checks::CheckPtr checkFromToml(const std::string& toml_text, const Clock& clock = RealClock::instance());

/// The validated keys and common settings (name, kind) of the first [[check]]
/// of `toml_text`: what a kind's ...ForTest factory takes beside its fakes.
struct CheckParts {
  agent::checks::CommonSettings common;
  config::Fields fields;
};
CheckParts checkPartsFromToml(const std::string& toml_text);

/// The ConfigError text building the check throws, or "" when it does not throw.
std::string configErrorOf(const std::string& toml_text);

}  // namespace hale::test
