// What a permission failure was refused: read from the lines it rests on.
#include "agent/ci/refused_resource.h"

#include <re2/re2.h>

#include <array>
#include <memory>
#include <string_view>

namespace hale::agent::ci {
namespace {

struct Rule {
  const char* kind;  // what the captured text names
  const char* pattern;
};

// Most specific first: a repository or secret named outright beats a URL,
// which beats a bare registry host or file.
constexpr std::array<Rule, 17> kRules = {{
    {"repository", R"((?i)Permission to ([\w.-]+/[\w.-]+?)(?:\.git)? denied)"},
    {"repository",
     R"((?i)(?:unable to access|Authentication failed for|could not read Username for) '(https?://[^']+?)/?')"},
    {"token", R"((?i)Resource not accessible by (integration|personal access token))"},
    {"secret", R"((?i)Input required and not supplied: (\w+))"},
    {"secret", R"(\b([A-Z][A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|API_KEY|APIKEY|PAT)\b))"},
    {"image", R"((?i)pull access denied for ([\w./:@-]+))"},
    {"image", R"((?i)The push refers to repository \[([^\]]+)\])"},
    {"package", R"((?i)(?:You do not have permission to publish|you don't seem to be an owner of) "?([\w@./-]+))"},
    {"package", R"((?i)not authorized\s*:\s*([\w@./-]+))"},
    {"repository", R"(\b(git@[\w.-]+:[\w./-]+))"},
    {"registry", R"((?i)blobs/uploads/ in ([\w.-]+\.[a-z]{2,})\b)"},
    {"URL", R"((?i)\b(?:PUT|POST|GET|DELETE|PATCH) (https?://[^\s'"<>)\]]+))"},
    {"URL", R"((https?://[^\s'"<>)\]]+))"},
    {"file", R"((?i)(?:EACCES|EPERM)[^,]*, \w+ '([^']+)')"},
    {"file",
     R"((?i)(?:cannot (?:open|create|remove|access)|could not open|failed to open) '?([/~][^\s':]+)'?:? .*Permission denied)"},
    {"registry",
     R"((?i)\b((?:[\w-]+\.)*(?:docker\.io|ghcr\.io|quay\.io|gcr\.io|pkg\.dev|azurecr\.io|amazonaws\.com|npmjs\.org|pypi\.org|nuget\.org|crates\.io|rubygems\.org))\b)"},
    {"registry",
     R"((?i)\b(NuGet|npm|PyPI|Docker Hub|Maven Central|RubyGems|crates\.io|Artifactory|Nexus) (?:server|registry)\b)"},
}};

}  // namespace

std::string refusedResource(const std::vector<std::string>& lines) {
  static const auto* const kCompiled = [] {
    auto* out = new std::vector<std::pair<const char*, std::unique_ptr<RE2>>>();
    for (const Rule& r : kRules) out->emplace_back(r.kind, std::make_unique<RE2>(r.pattern));
    return out;
  }();
  for (const auto& [kind, re] : *kCompiled) {
    for (const auto& line : lines) {
      std::string found;
      if (!RE2::PartialMatch(line, *re, &found) || found.empty()) continue;
      if (std::string_view(kind) == "token") return "token GITHUB_TOKEN (the workflow's permissions)";
      return std::string(kind) + " " + found;
    }
  }
  return {};
}

}  // namespace hale::agent::ci
