// restore: puts a drifted file (or the drifted files of a tree) back from the
// content copies `hale-agent baseline` keeps under the state dir, with the
// recorded mode and owner. The drifted versions are kept aside in
// <path>.hale-drifted-<UTC time> (for a tree: a directory mirroring it, where
// files added since the baseline go too), so nothing is ever lost.
//
//   [[check]]
//   name = "sshd-config"
//   kind = "file"
//   path = "/etc/ssh/sshd_config"
//   baseline = "/etc/hale/sshd_config.baseline"
//
//     [[check.remedy]]
//     action = "restore"      # path and baseline default to the check's
#include "agent/checks/file_baseline.h"
#include "agent/remedies/remedy.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace hale::agent::remedies {
namespace {
namespace fs = std::filesystem;
namespace bl = checks::baseline;

constexpr config::FieldSpec kFields[] = {
    {"path", config::FieldType::String, "", "the file or tree to restore (default: the file check's path)", true},
    {"baseline", config::FieldType::String, "",
     "baseline file from `hale-agent baseline` (default: the file check's baseline)", true},
    {"max_bytes", config::FieldType::Integer, "16777216", "refuse to restore a stored copy larger than this"},
};

/// A baseline path that stays inside its root: relative, no "..", no empty parts.
bool containedPath(const std::string& rel) {
  if (rel == ".") return true;
  if (rel.empty() || rel[0] == '/') return false;
  for (const auto& part : fs::path(rel))
    if (part == ".." || part == "." || part.empty()) return false;
  return true;
}

bool under(const fs::path& inner, const fs::path& root) {
  const auto r = root.lexically_normal().string();
  const auto i = inner.lexically_normal().string();
  return i == r || (i.size() > r.size() && i.compare(0, r.size(), r) == 0 && (r.back() == '/' || i[r.size()] == '/'));
}

class RestoreAction final : public Action {
 public:
  RestoreAction(const config::Fields& f, const ActionEnv& env)
      : clock_(env.clock), path_(f.str("path")), baseline_(f.str("baseline")), objects_(bl::objectsDir(env.state_dir)),
        max_bytes_(static_cast<uint64_t>(std::max<int64_t>(1, f.integer("max_bytes")))) {
    if (path_.empty() || path_[0] != '/') f.fail("path", "must be an absolute path");
    if (path_ == "/") f.fail("path", "refusing to restore '/'");
    while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  }

  ActionResult execute(const ActionContext&) override {
    ActionResult r;
    kept_aside_ = false;
    auto recorded = readBaseline();
    if (!recorded) {
      r.detail = recorded.error().message;
      return r;
    }
    const bool single = recorded->size() == 1 && recorded->front().path == ".";
    for (const auto& e : *recorded)
      if (!containedPath(e.path) || (e.path == "." && !single)) {
        r.detail = fmt::format("refused: baseline entry '{}' is outside {}", e.path, path_);
        return r;
      }
    std::vector<bl::Entry> current;
    if (auto scanned = bl::scan(path_, recorded->size() + 10'000))
      current = std::move(*scanned);
    else if (fs::exists(fs::symlink_status(path_))) {
      r.detail = scanned.error().message;
      return r;
    }
    const auto drift = bl::diff(*recorded, current);
    if (drift.empty()) {
      r.ok = true;
      r.detail = fmt::format("{}: no drift, nothing to restore", path_);
      return r;
    }
    aside_ = fmt::format("{}.hale-drifted-{:%Y%m%dT%H%M%S}", path_,
                         std::chrono::floor<std::chrono::seconds>(clock_.wallNow()));
    std::map<std::string, const bl::Entry*> by_path;
    for (const auto& e : *recorded) by_path[e.path] = &e;
    std::vector<std::string> restored, problems;
    std::set<std::string> to_restore(drift.changed.begin(), drift.changed.end());
    to_restore.insert(drift.removed.begin(), drift.removed.end());
    for (const auto& rel : to_restore) {
      if (auto ok = restoreOne(*by_path.at(rel), single); ok)
        restored.push_back(rel);
      else
        problems.push_back(ok.error().message);
    }
    for (const auto& rel : drift.added) {
      if (!containedPath(rel)) continue;
      if (auto ok = setAside(rel, single, true); !ok) problems.push_back(ok.error().message);
    }
    r.ok = problems.empty();
    r.detail = fmt::format("restored {} of {} drifted files of {}", restored.size(), to_restore.size(), path_);
    if (!drift.added.empty()) r.detail += fmt::format("; {} added files moved aside", drift.added.size());
    if (kept_aside_) r.detail += "; drifted versions kept in " + aside_;
    for (const auto& p : problems) r.detail += "; " + p;
    return r;
  }

  std::string resource() const override { return path_; }
  std::string describe() const override { return fmt::format("restore {} from baseline {}", path_, baseline_); }

 private:
  Result<std::vector<bl::Entry>> readBaseline() const {
    std::ifstream in(baseline_);
    if (!in) return Error{fmt::format("cannot read baseline '{}'", baseline_), ENOENT};
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = bl::parse(ss.str());
    if (!parsed) return Error{fmt::format("{}: {}", baseline_, parsed.error().message), EINVAL};
    if (parsed->empty()) return Error{fmt::format("baseline '{}' is empty", baseline_), EINVAL};
    return parsed;
  }

  std::string full(const std::string& rel, bool single) const { return single ? path_ : path_ + "/" + rel; }
  std::string asideOf(const std::string& rel, bool single) const { return single ? aside_ : aside_ + "/" + rel; }

  /// The parent directory of a target inside a tree must resolve inside the
  /// tree: a directory swapped for a symlink must not redirect the write.
  Status checkParent(const std::string& target, bool single) const {
    if (single) return {};
    std::error_code ec;
    const auto root = fs::canonical(path_, ec);
    if (ec) return Error{fmt::format("cannot resolve '{}': {}", path_, ec.message()), ec.value()};
    const auto parent = fs::weakly_canonical(fs::path(target).parent_path(), ec);
    if (ec || !under(parent, root))
      return Error{fmt::format("refused: '{}' resolves outside {}", target, path_), EPERM};
    return {};
  }

  /// Keeps the drifted version: a hard link (the same inode, mode and owner),
  /// or a copy when the aside directory is on another filesystem; `move`
  /// takes it out of the tree (files the baseline does not know).
  Status setAside(const std::string& rel, bool single, bool move) {
    const std::string from = full(rel, single), to = asideOf(rel, single);
    if (auto ok = checkParent(from, single); !ok) return ok;
    std::error_code ec;
    fs::create_directories(fs::path(to).parent_path(), ec);
    if (ec)
      return Error{fmt::format("cannot create '{}': {}", fs::path(to).parent_path().string(), ec.message()),
                   ec.value()};
    if (move ? ::rename(from.c_str(), to.c_str()) == 0 : ::link(from.c_str(), to.c_str()) == 0) {
      kept_aside_ = true;
      return {};
    }
    if (move) return Error{fmt::format("cannot move '{}' aside: {}", from, std::strerror(errno)), errno};
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) return Error{fmt::format("cannot keep '{}' aside: {}", from, ec.message()), ec.value()};
    kept_aside_ = true;
    return {};
  }

  Status restoreOne(const bl::Entry& e, bool single) {
    const std::string target = full(e.path, single);
    if (e.sha256.rfind("link:", 0) == 0) return Error{fmt::format("'{}': symlinks are not restored", target), ENOTSUP};
    auto data = bl::loadObject(objects_, e.sha256, max_bytes_);
    if (!data) return Error{fmt::format("'{}': {}", target, data.error().message), data.error().code};
    if (auto ok = checkParent(target, single); !ok) return ok;
    struct stat st {};
    int64_t gid = -1;
    if (::lstat(target.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Error{fmt::format("'{}' is now a directory; not replaced", target), EISDIR};
      if (auto ok = setAside(e.path, single, false); !ok) return ok;
      gid = st.st_gid;  // the baseline records the owner, not the group: keep the group
    } else {
      std::error_code ec;
      fs::create_directories(fs::path(target).parent_path(), ec);
    }
    // Only root may give a file away; an unprivileged agent restores its own files.
    const bool root = ::geteuid() == 0;
    if (!root && e.uid != ::geteuid()) return Error{fmt::format("'{}': owner uid {} needs root", target, e.uid), EPERM};
    return bl::writeAtomic(target, *data, e.mode, e.uid, root ? gid : -1);
  }

  const Clock& clock_;
  std::string path_;
  std::string baseline_;
  std::string objects_;
  uint64_t max_bytes_;
  std::string aside_;
  bool kept_aside_ = false;
};

ActionPtr make(const config::Fields& fields, const ActionEnv& env) {
  return std::make_unique<RestoreAction>(fields, env);
}

}  // namespace

extern const ActionKind kRestoreAction;
const ActionKind kRestoreAction{
    "restore", "put drifted files back from their baseline copies, keeping the drifted ones aside", kFields, &make};

}  // namespace hale::agent::remedies
