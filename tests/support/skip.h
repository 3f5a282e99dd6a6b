#pragma once
// Skipping a test visibly. CTest runs every doctest case in its own process
// with HALE_CTEST=1 and SKIP_RETURN_CODE 77 (tests/CMakeLists.txt), so a skip
// ends that process with 77 and CTest lists the test as "Not Run (Skipped)",
// never as passed. Run by hand (the sanitizer pass runs all cases in one
// process) a skip prints "SKIPPED: ..." and the caller returns.
#include <string>

namespace hale::test {

/// True when `condition` holds. Otherwise the test is skipped with `reason`
/// (exit 77 under CTest; false and a SKIPPED message when run by hand).
/// For conditions of the machine that no package provides (root, cgroups).
[[nodiscard]] bool skipUnless(bool condition, const std::string& reason);

/// True when `tool` is on PATH. Otherwise: under CI=true the test fails, since
/// scripts/deps.sh installs every tool the tests use (`package` names it);
/// elsewhere the test is skipped as with skipUnless.
[[nodiscard]] bool requireTool(const std::string& tool, const std::string& package);

}  // namespace hale::test
