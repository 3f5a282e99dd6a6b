#include "tests/support/skip.h"

#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>
#include <string_view>

namespace hale::test {
namespace {
bool envIs(const char* name, std::string_view value) {
  const char* v = std::getenv(name);
  return v != nullptr && value == v;
}
}  // namespace

bool skipUnless(bool condition, const std::string& reason) {
  if (condition) return true;
  if (envIs("HALE_CTEST", "1")) {
    std::cout << "SKIPPED: " << reason << std::endl;
    std::exit(77);
  }
  MESSAGE("SKIPPED: " << reason);
  return false;
}

bool requireTool(const std::string& tool, const std::string& package) {
  const bool present = runCommand({"/bin/sh", "-c", "command -v " + tool + " >/dev/null 2>&1"}) == 0;
  if (!present && envIs("CI", "true"))
    FAIL(tool << " is missing under CI=true; scripts/deps.sh installs it (Debian package '" << package << "')");
  return skipUnless(present, tool + " not installed (Debian package '" + package + "'; scripts/deps.sh installs it)");
}

}  // namespace hale::test
