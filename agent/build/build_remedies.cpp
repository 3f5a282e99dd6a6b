// Cache clearing and failed-test reruns for `hale-agent exec`.
#include "agent/build/build_remedies.h"

#include <re2/re2.h>

#include <algorithm>
#include <filesystem>

namespace hale::agent::build {
namespace fs = std::filesystem;
namespace {

std::string baseName(const std::string& path) { return fs::path(path).filename().string(); }

bool contains(const std::vector<std::string>& argv, std::string_view word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

// The words that name the tool: argv[0], or what follows npx/python -m/etc.
std::vector<std::string> toolWords(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  for (const auto& a : argv) {
    if (!a.empty() && a[0] == '-') continue;
    words.push_back(baseName(a));
    if (words.size() == 3) break;
  }
  return words;
}

bool usesTool(const std::vector<std::string>& argv, std::initializer_list<std::string_view> names) {
  for (const auto& w : toolWords(argv))
    for (auto n : names)
      if (w == n) return true;
  return false;
}

}  // namespace

std::string cacheKindForCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return {};
  const std::string tool = baseName(argv[0]);
  if (tool == "npm" || tool == "npx") return "npm";
  if (tool.starts_with("pip") || ((tool.starts_with("python")) && argv.size() > 2 && argv[1] == "-m" &&
                                  argv[2].starts_with("pip")))
    return "pip";
  if (tool == "cargo") return "cargo";
  if (tool == "mvn" || tool == "mvnw") return "maven";
  if (tool == "gradle" || tool == "gradlew") return "gradle";
  return {};
}

std::vector<std::string> cacheDirs(const std::string& kind, const std::string& home) {
  const fs::path h(home);
  if (kind == "npm") return {(h / ".npm" / "_cacache").string()};
  if (kind == "pip") return {(h / ".cache" / "pip").string()};
  if (kind == "cargo") return {(h / ".cargo" / "registry" / "cache").string(), (h / ".cargo" / "registry" / "src").string()};
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

}  // namespace hale::agent::build
