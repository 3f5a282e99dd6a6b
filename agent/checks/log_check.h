#pragma once
// What the log drill needs to know of a `log` check.
#include "agent/checks/check.h"

#include <string_view>

namespace hale::agent::checks {

/// True when `check` is a log check whose patterns match `line`.
bool logCheckMatches(const Check& check, std::string_view line);

}  // namespace hale::agent::checks
