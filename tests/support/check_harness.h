#pragma once
// Building checks from TOML text in tests, as the agent's loader would.
#include "agent/checks/check.h"
#include "tests/support/harness.h"

#include <string>

namespace hale::test {

/// Builds the first [[check]] of `toml_text` as if read from "checks.toml".
agent::checks::CheckPtr checkFromToml(const std::string& toml_text, const Clock& clock = RealClock::instance());

/// The ConfigError text building the check throws, or "" when it does not throw.
std::string configErrorOf(const std::string& toml_text);

}  // namespace hale::test
