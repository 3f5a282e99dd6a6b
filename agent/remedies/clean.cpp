// clean: deletes files under configured roots that are older than an age
// and/or match globs, largest first, until a free-space target is reached
// (or all of them, without a target). Safety rules: roots are absolute,
// normalized, never `/`, never symlinks themselves; symlinks are never
// followed nor deleted; nothing outside the roots is touched.
//
//   [[check.remedy]]
//   action = "clean"
//   roots = ["/var/tmp/ci", "/tmp/builds"]
//   older_than = "2d"
//   globs = ["*.tmp", "core.*"]
//   free_target_pct = 20
#include "agent/platform/filesystem.h"
#include "agent/remedies/remedy.h"

#include <fmt/format.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace hale::agent::remedies {
namespace {
namespace fs = std::filesystem;

constexpr config::FieldSpec kFields[] = {
    {"roots", config::FieldType::StringArray, "", "directories to clean (absolute, not /, not symlinks)", true},
    {"older_than", config::FieldType::Duration, "", "only files not modified for this long"},
    {"globs", config::FieldType::StringArray, "", "only files whose name (or path under the root, with /) matches"},
    {"free_target_pct", config::FieldType::Float, "", "stop once this % of the root's filesystem is free"},
};

struct Candidate {
  std::string path;
  uint64_t size = 0;
};

bool isSafeRoot(const std::string& root) {
  return !root.empty() && root[0] == '/' && root != "/" && fs::path(root).lexically_normal().string() == root;
}

class CleanAction final : public Action {
 public:
  CleanAction(const config::Fields& f, const ActionEnv& env) : clock_(env.clock) {
    roots_ = f.strings("roots");
    if (roots_.empty()) f.fail("roots", "give at least one root");
    for (auto& r : roots_) {
      if (r.size() > 1 && r.back() == '/') r.pop_back();
      if (!isSafeRoot(r)) f.fail("roots", fmt::format("'{}' must be an absolute, normalized path other than /", r));
    }
    older_than_ = f.optDuration("older_than");
    if (f.has("globs")) globs_ = f.strings("globs");
    if (!older_than_ && globs_.empty())
      f.fail("roots", "give older_than, globs or both: clean never deletes everything");
    free_target_pct_ = f.optNumber("free_target_pct");
    if (free_target_pct_ && (*free_target_pct_ <= 0 || *free_target_pct_ >= 100))
      f.fail("free_target_pct", "expected a percentage between 0 and 100");
  }

  ActionResult execute(const ActionContext&) override {
    ActionResult r;
    std::vector<Candidate> found;
    size_t symlinks = 0;
    for (const auto& root : roots_) {
      // A root replaced by a symlink (or reached through one) would lead outside: refuse.
      std::error_code ec;
      if (fs::is_symlink(fs::symlink_status(root, ec)) || fs::weakly_canonical(root, ec).string() != root) {
        r.detail = fmt::format("refused: root {} is or goes through a symlink", root);
        return r;
      }
      collect(root, found, symlinks);
    }
    std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) { return a.size > b.size; });
    uint64_t needed = UINT64_MAX;
    if (free_target_pct_) {
      auto usage = platform::realFilesystem().usage(roots_.front());
      if (!usage) {
        r.detail = usage.error().message;
        return r;
      }
      const double want = *free_target_pct_ / 100.0 * static_cast<double>(usage->total_bytes);
      const double have = static_cast<double>(usage->available_bytes);
      needed = want > have ? static_cast<uint64_t>(want - have) : 0;
    }
    uint64_t freed = 0;
    size_t deleted = 0, failed = 0;
    for (const auto& c : found) {
      if (freed >= needed) break;
      if (::unlink(c.path.c_str()) == 0) {
        freed += c.size;
        ++deleted;
      } else {
        ++failed;
      }
    }
    r.ok = failed == 0 && (needed == UINT64_MAX || freed >= needed);
    r.detail = fmt::format("deleted {} of {} matching files ({} bytes), {} failed, {} symlinks left alone{}", deleted,
                           found.size(), freed, failed, symlinks,
                           needed != UINT64_MAX && freed < needed ? ", free-space target not reached" : "");
    return r;
  }

  std::string resource() const override { return "clean:" + roots_.front(); }
  std::string describe() const override {
    std::string roots;
    for (const auto& r : roots_) roots += (roots.empty() ? "" : ", ") + r;
    return fmt::format("clean {}", roots);
  }

 private:
  void collect(const std::string& root, std::vector<Candidate>& out, size_t& symlinks) const {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_.wallNow().time_since_epoch()).count();
    std::error_code ec;
    // The iterator does not follow directory symlinks (no follow_directory_symlink option).
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string path = it->path().string();
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) continue;
      if (S_ISLNK(st.st_mode)) {
        ++symlinks;
        continue;
      }
      if (!S_ISREG(st.st_mode)) continue;
      if (path.compare(0, root.size() + 1, root + "/") != 0) continue;  // never outside the root
      if (older_than_ &&
          now - st.st_mtim.tv_sec < std::chrono::duration_cast<std::chrono::seconds>(*older_than_).count())
        continue;
      if (!globs_.empty() && !matches(root, path)) continue;
      out.push_back({path, static_cast<uint64_t>(st.st_size)});
    }
  }

  bool matches(const std::string& root, const std::string& path) const {
    const std::string name = fs::path(path).filename().string();
    const std::string rel = path.substr(root.size() + 1);
    for (const auto& g : globs_) {
      const bool with_dir = g.find('/') != std::string::npos;
      if (::fnmatch(g.c_str(), with_dir ? rel.c_str() : name.c_str(), with_dir ? FNM_PATHNAME : 0) == 0) return true;
    }
    return false;
  }

  const Clock& clock_;
  std::vector<std::string> roots_;
  std::optional<Millis> older_than_;
  std::vector<std::string> globs_;
  std::optional<double> free_target_pct_;
};

ActionPtr make(const config::Fields& fields, const ActionEnv& env) {
  return std::make_unique<CleanAction>(fields, env);
}

}  // namespace

extern const ActionKind kCleanAction;
const ActionKind kCleanAction{
    "clean", "delete old or matching files under roots, largest first, to a free-space target", kFields, &make};

}  // namespace hale::agent::remedies
