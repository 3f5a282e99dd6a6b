#pragma once
// The local remedies `exec` may apply between attempts. Each is deliberately
// narrow: caches are only ever the package managers' own known directories
// under the user's home, and a rerun only narrows the command to failed tests.
#include <optional>
#include <string>
#include <vector>

namespace hale::agent::ci {

/// The package-manager cache a command uses: "npm", "yarn", "pnpm", "pip",
/// "cargo", "go", "maven", "gradle", or empty when the command is not a known package manager.
std::string cacheKindForCommand(const std::vector<std::string>& argv);

/// The directories clearPackageCache() empties for `kind` under `home` (for
/// "go" also $GOMODCACHE ending in /pkg/mod and $GOCACHE ending in /go-build).
std::vector<std::string> cacheDirs(const std::string& kind, const std::string& home);

/// Removes the known cache directories of `kind` under `home` (absolute, not
/// "/"). Symlinked cache directories are left alone. Returns the directories
/// removed; an empty result means nothing was cleared.
std::vector<std::string> clearPackageCache(const std::string& kind, const std::string& home);

/// The command narrowed to the failed tests, where the runner supports it:
/// pytest → --lf, jest → --onlyFailures, go test → -run '^(A|B)$' (needs
/// names). nullopt when the runner is unknown or names are needed but missing.
std::optional<std::vector<std::string>> rerunFailedTestsCommand(const std::vector<std::string>& argv,
                                                                const std::vector<std::string>& failed_tests);

}  // namespace hale::agent::ci
