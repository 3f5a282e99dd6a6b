// clear_cache: empties well-known package caches under a home directory (pip,
// npm, yarn, cargo, go-build, gradle, ccache), or the cache directories given
// as `roots`. Symlinks are removed as links, never followed; a cache
// directory that is itself a symlink, or is reached through one, is skipped.
//
//   [[check.remedy]]
//   action = "clear_cache"
//   caches = ["pip", "npm"]      # default: all known
//   home = "/home/ci"            # default: $HOME of the agent
#include "agent/remedies/remedy.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

namespace hale::agent::remedies {
namespace {
namespace fs = std::filesystem;

constexpr std::pair<std::string_view, std::string_view> kKnown[] = {
    {"pip", ".cache/pip"},           {"npm", ".npm/_cacache"},
    {"yarn", ".cache/yarn"},         {"cargo", ".cargo/registry/cache"},
    {"go-build", ".cache/go-build"}, {"gradle", ".gradle/caches"},
    {"ccache", ".cache/ccache"},
};

constexpr config::FieldSpec kFields[] = {
    {"caches", config::FieldType::StringArray, "",
     "which known caches: pip, npm, yarn, cargo, go-build, gradle, ccache (default: all)"},
    {"home", config::FieldType::String, "", "home directory holding them (default: $HOME)"},
    {"roots", config::FieldType::StringArray, "", "explicit cache directories (absolute) instead of known ones"},
};

class ClearCacheAction final : public Action {
 public:
  explicit ClearCacheAction(const config::Fields& f) {
    if (f.has("roots")) {
      dirs_ = f.strings("roots");
      for (const auto& r : dirs_)
        if (r.empty() || r[0] != '/' || r == "/" || fs::path(r).lexically_normal().string() != r)
          f.fail("roots", fmt::format("'{}' must be an absolute, normalized path other than /", r));
      return;
    }
    const char* env_home = std::getenv("HOME");
    const std::string home = f.optStr("home").value_or(env_home ? env_home : "");
    if (home.empty() || home[0] != '/' || home == "/") f.fail("home", "needs an absolute home directory other than /");
    std::vector<std::string> names;
    if (f.has("caches"))
      names = f.strings("caches");
    else
      for (const auto& [name, rel] : kKnown) names.emplace_back(name);
    for (const auto& n : names) {
      const auto* known =
          std::find_if(std::begin(kKnown), std::end(kKnown), [&](const auto& k) { return k.first == n; });
      if (known == std::end(kKnown)) f.fail("caches", fmt::format("unknown cache '{}'", n));
      dirs_.push_back(home + "/" + std::string(known->second));
    }
  }

  ActionResult execute(const ActionContext&) override {
    ActionResult r;
    size_t removed = 0, skipped = 0;
    for (const auto& dir : dirs_) {
      std::error_code ec;
      const auto st = fs::symlink_status(dir, ec);
      if (ec || !fs::is_directory(st)) continue;  // absent, or a symlink: never followed
      if (fs::weakly_canonical(dir, ec).string() != dir) {
        ++skipped;
        continue;
      }
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::error_code rm;
        fs::remove_all(entry.path(), rm);  // removes a symlink entry itself, not its target
        if (rm)
          ++skipped;
        else
          ++removed;
      }
    }
    r.ok = skipped == 0;
    r.detail = fmt::format("removed {} cache entries from {} directories, {} skipped", removed, dirs_.size(), skipped);
    return r;
  }
  std::string resource() const override { return "cache:" + (dirs_.empty() ? std::string() : dirs_.front()); }
  std::string describe() const override { return fmt::format("clear {} cache directories", dirs_.size()); }

 private:
  std::vector<std::string> dirs_;
};

ActionPtr make(const config::Fields& fields, const ActionEnv&) { return std::make_unique<ClearCacheAction>(fields); }

}  // namespace

extern const ActionKind kClearCacheAction;
const ActionKind kClearCacheAction{"clear_cache", "empty known package caches (pip, npm, cargo, ...) under $HOME",
                                   kFields, &make};

}  // namespace hale::agent::remedies
