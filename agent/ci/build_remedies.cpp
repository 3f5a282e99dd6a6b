// Cache clearing and failed-test reruns for `hale-agent exec`.
#include "agent/ci/build_remedies.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "agent/ci/retry_adjust.h"

namespace hale::agent::ci {
namespace fs = std::filesystem;
namespace {

std::string baseName(const std::string& path) { return fs::path(path).filename().string(); }

bool contains(const std::vector<std::string>& argv, std::string_view word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

bool usesTool(const std::vector<std::string>& argv, std::initializer_list<std::string_view> names) {
  for (const auto& w : toolWords(argv))
    for (auto n : names)
      if (w == n) return true;
  return false;
}

// Go writes its module cache read-only, so it cannot be removed as it is.
void makeTreeWritable(const fs::path& root) {
  std::error_code ec;
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::add, ec);
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (it->is_directory(e2) && !it->is_symlink(e2))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, e2);
  }
}

}  // namespace

std::string cacheKindForCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return {};
  const std::string tool = baseName(argv[0]);
  if (tool == "npm" || tool == "npx") return "npm";
  if (tool == "yarn" || tool == "yarnpkg") return "yarn";
  if (tool == "pnpm" || tool == "pnpx") return "pnpm";
  if (tool == "go") return "go";
  if (tool.starts_with("pip") ||
      ((tool.starts_with("python")) && argv.size() > 2 && argv[1] == "-m" && argv[2].starts_with("pip")))
    return "pip";
  if (tool == "cargo") return "cargo";
  if (tool == "mvn" || tool == "mvnw") return "maven";
  if (tool == "gradle" || tool == "gradlew") return "gradle";
  return {};
}

std::vector<std::string> cacheDirs(const std::string& kind, const std::string& home) {
  const fs::path h(home);
  if (kind == "npm") return {(h / ".npm" / "_cacache").string()};
  if (kind == "yarn") return {(h / ".cache" / "yarn").string(), (h / ".yarn" / "berry" / "cache").string()};
  if (kind == "pnpm")
    return {(h / ".local" / "share" / "pnpm" / "store").string(), (h / ".pnpm-store").string(),
            (h / ".cache" / "pnpm").string()};
  if (kind == "go") {
    // GOMODCACHE and GOCACHE often live outside $HOME on CI images (/go/pkg/mod):
    // taken from the environment when they have Go's own layout.
    std::vector<std::string> dirs = {(h / "go" / "pkg" / "mod").string(), (h / ".cache" / "go-build").string()};
    const auto fromEnv = [&](const char* name, std::string_view suffix) {
      const char* v = std::getenv(name);
      if (!v || *v != '/') return;
      const std::string p = fs::path(v).lexically_normal().string();
      if (p.ends_with(suffix) && p.size() > suffix.size() + 1 && std::find(dirs.begin(), dirs.end(), p) == dirs.end())
        dirs.push_back(p);
    };
    fromEnv("GOMODCACHE", "/pkg/mod");
    fromEnv("GOCACHE", "/go-build");
    return dirs;
  }
  if (kind == "pip") return {(h / ".cache" / "pip").string()};
  if (kind == "cargo")
    return {(h / ".cargo" / "registry" / "cache").string(), (h / ".cargo" / "registry" / "src").string()};
  if (kind == "maven") return {(h / ".m2" / "repository").string()};
  if (kind == "gradle") return {(h / ".gradle" / "caches").string()};
  return {};
}

std::vector<std::string> clearPackageCache(const std::string& kind, const std::string& home) {
  std::vector<std::string> removed;
  const fs::path h(home);
  if (home.empty() || !h.is_absolute() || fs::weakly_canonical(h) == fs::path("/")) return removed;
  for (const auto& dir : cacheDirs(kind, home)) {
    std::error_code ec;
    // symlink_status: a cache that is a link to elsewhere is not ours to empty.
    if (!fs::is_directory(fs::symlink_status(dir, ec))) continue;
    if (kind == "go") makeTreeWritable(dir);
    fs::remove_all(dir, ec);
    if (!ec) removed.push_back(dir);
  }
  return removed;
}

std::optional<std::vector<std::string>> rerunFailedTestsCommand(const std::vector<std::string>& argv,
                                                                const std::vector<std::string>& failed_tests) {
  std::vector<std::string> out = argv;
  if (usesTool(argv, {"pytest", "py.test"})) {
    if (!contains(argv, "--lf") && !contains(argv, "--last-failed")) out.push_back("--lf");
    return out;
  }
  if (usesTool(argv, {"jest"})) {
    if (!contains(argv, "--onlyFailures")) out.push_back("--onlyFailures");
    return out;
  }
  const auto words = toolWords(argv);
  if (words.size() >= 2 && words[0] == "go" && words[1] == "test") {
    if (failed_tests.empty() || contains(argv, "-run")) return std::nullopt;
    std::string pattern = "^(";
    for (size_t i = 0; i < failed_tests.size(); ++i) {
      const std::string top = failed_tests[i].substr(0, failed_tests[i].find('/'));  // subtests run with their parent
      pattern += (i ? "|" : "") + RE2::QuoteMeta(top);
    }
    pattern += ")$";
    // Flags must precede the package list, so insert right after "test".
    const auto at = std::find(out.begin(), out.end(), "test");
    out.insert(at + 1, {"-run", pattern});
    return out;
  }
  return std::nullopt;
}

}  // namespace hale::agent::ci
