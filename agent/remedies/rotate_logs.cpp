// rotate_logs: renames each log to .1 (shifting .1 to .2 and so on, keeping
// `keep`), leaves an empty file in its place and compresses the rotated one
// with gzip when present (no new library: gzip's own binary, as argv).
//
//   [[check.remedy]]
//   action = "rotate_logs"
//   files = ["/var/log/ci/runner.log"]
//   keep = 5
#include "agent/platform/program_run.h"
#include "agent/remedies/remedy.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace hale::agent::remedies {
namespace {
namespace fs = std::filesystem;

constexpr config::FieldSpec kFields[] = {
    {"files", config::FieldType::StringArray, "", "log files to rotate (absolute paths)", true},
    {"keep", config::FieldType::Integer, "5", "rotated generations to keep"},
    {"compress", config::FieldType::Bool, "true", "gzip the rotated file when gzip exists"},
    {"gzip", config::FieldType::String, "/usr/bin/gzip", "path of gzip"},
};

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

class RotateLogsAction final : public Action {
 public:
  explicit RotateLogsAction(const config::Fields& f)
      : files_(f.strings("files")), keep_(f.integer("keep")), compress_(f.boolean("compress")), gzip_(f.str("gzip")) {
    if (files_.empty()) f.fail("files", "give at least one file");
    for (const auto& file : files_)
      if (file.empty() || file[0] != '/') f.fail("files", fmt::format("'{}' is not an absolute path", file));
    if (keep_ < 1 || keep_ > 100) f.fail("keep", "expected 1..100");
  }

  ActionResult execute(const ActionContext&) override {
    ActionResult r;
    r.ok = true;
    size_t rotated = 0;
    for (const auto& file : files_) {
      struct stat st {};
      if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // never rotate through a symlink
      shift(file);
      if (std::rename(file.c_str(), (file + ".1").c_str()) != 0) {
        r.ok = false;
        r.detail += fmt::format("cannot rename {}; ", file);
        continue;
      }
      // The writer keeps its descriptor on .1; new opens get a fresh empty file.
      const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
      if (fd >= 0) ::close(fd);
      ++rotated;
      if (compress_ && ::access(gzip_.c_str(), X_OK) == 0) {
        platform::ProgramSpec gz{{gzip_, "-f", file + ".1"}, {}, "", std::chrono::minutes(5)};
        auto z = runAndReport(gz);
        if (!z.ok) r.detail += fmt::format("gzip {}.1: {}; ", file, z.detail);
      }
    }
    r.detail += fmt::format("rotated {} of {} files", rotated, files_.size());
    return r;
  }
  std::string resource() const override { return "logs:" + files_.front(); }
  std::string describe() const override { return fmt::format("rotate {} (keep {})", files_.front(), keep_); }

 private:
  void shift(const std::string& file) const {
    for (int64_t n = keep_; n >= 1; --n) {
      for (const char* ext : {"", ".gz"}) {
        const std::string from = fmt::format("{}.{}{}", file, n, ext);
        if (!exists(from)) continue;
        if (n == keep_) {
          ::unlink(from.c_str());
        } else {
          std::rename(from.c_str(), fmt::format("{}.{}{}", file, n + 1, ext).c_str());
        }
      }
    }
  }

  std::vector<std::string> files_;
  int64_t keep_;
  bool compress_;
  std::string gzip_;
};

ActionPtr make(const config::Fields& fields, const ActionEnv&) { return std::make_unique<RotateLogsAction>(fields); }

}  // namespace

extern const ActionKind kRotateLogsAction;
const ActionKind kRotateLogsAction{"rotate_logs", "rename logs to .1, .2, ... and gzip them", kFields, &make};

}  // namespace hale::agent::remedies
