// file: configuration drift of a file or a directory tree: content hash
// (SHA-256), mode, owner and existence, against a hash in the config or a
// baseline recorded with `hale-agent baseline PATH --out FILE`.
//
//   [[check]]
//   name = "sshd-config"
//   kind = "file"
//   path = "/etc/ssh/sshd_config"
//   mode = "0644"
//   owner = "root"
#include "agent/checks/check.h"
#include "agent/checks/file_baseline.h"

#include <fmt/format.h>
#include <pwd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"path", config::FieldType::String, "", "a file or a directory tree to watch", true},
    {"sha256", config::FieldType::String, "", "expected SHA-256 (hex) of a single file's content"},
    {"baseline", config::FieldType::String, "", "baseline file from `hale-agent baseline PATH --out FILE`"},
    {"mode", config::FieldType::String, "", "expected permission bits in octal, e.g. \"0644\""},
    {"owner", config::FieldType::String, "", "expected owner: user name or numeric uid"},
    {"must_exist", config::FieldType::Bool, "true", "a missing path is critical (false: ok while absent)"},
    {"max_files", config::FieldType::Integer, "10000", "a tree with more files reports unknown (bounds the work)"},
};

std::string listFirst(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 3; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 3) out += fmt::format(" (+{} more)", names.size() - 3);
  return out;
}

class FileCheck final : public Check {
 public:
  FileCheck(CommonSettings common, const config::Fields& f)
      : Check(std::move(common)), path_(f.str("path")), sha256_(f.optStr("sha256")),
        must_exist_(f.boolean("must_exist")),
        max_files_(static_cast<size_t>(std::max<int64_t>(1, f.integer("max_files")))) {
    if (sha256_) {
      const bool hex =
          sha256_->size() == 64 && sha256_->find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
      if (!hex) f.fail("sha256", "expected 64 hexadecimal characters");
      for (auto& c : *sha256_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (f.has("baseline")) f.fail("baseline", "give sha256 or baseline, not both");
    }
    if (auto mode = f.optStr("mode")) {
      uint32_t m = 0;
      auto [p, ec] = std::from_chars(mode->data(), mode->data() + mode->size(), m, 8);
      if (mode->empty() || ec != std::errc() || p != mode->data() + mode->size() || m > 07777)
        f.fail("mode", "expected permission bits in octal, e.g. \"0644\"");
      mode_ = m;
    }
    if (auto owner = f.optStr("owner")) {
      uint32_t uid = 0;
      auto [p, ec] = std::from_chars(owner->data(), owner->data() + owner->size(), uid);
      if (ec == std::errc() && p == owner->data() + owner->size()) {
        uid_ = uid;
      } else if (const passwd* pw = ::getpwnam(owner->c_str())) {
        uid_ = pw->pw_uid;
      } else {
        f.fail("owner", fmt::format("no user '{}' on this system", *owner));
      }
    }
    if (auto file = f.optStr("baseline")) {
      std::ifstream in(*file);
      if (!in) f.fail("baseline", fmt::format("cannot read baseline '{}'", *file));
      std::stringstream ss;
      ss << in.rdbuf();
      auto parsed = baseline::parse(ss.str());
      if (!parsed) f.fail("baseline", fmt::format("{}: {}", *file, parsed.error().message));
      baseline_ = std::move(*parsed);
    }
  }

  bool blocking() const override { return true; }  // hashing a tree takes time

  Outcome run() override {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0) {
      if (!must_exist_) return Outcome{CheckStatus::Ok, fmt::format("{}: absent (allowed)", path_), {{"exists", 0}}};
      return Outcome{CheckStatus::Crit, fmt::format("{}: missing", path_), {{"exists", 0}}};
    }
    auto current = baseline::scan(path_, max_files_);
    if (!current) return Outcome{CheckStatus::Unknown, current.error().message, {{"exists", 1}}};
    Outcome out;
    out.metric("exists", 1).metric("files", static_cast<double>(current->size()));
    std::vector<std::string> problems;
    if (sha256_ && current->size() == 1 && current->front().sha256 != *sha256_)
      problems.push_back(
          fmt::format("content hash {} differs from the expected one", current->front().sha256.substr(0, 12)));
    if (mode_ && (st.st_mode & 07777) != *mode_)
      problems.push_back(fmt::format("mode {:04o}, expected {:04o}", st.st_mode & 07777, *mode_));
    if (uid_ && st.st_uid != *uid_) problems.push_back(fmt::format("owner uid {}, expected {}", st.st_uid, *uid_));
    if (baseline_) {
      const auto d = baseline::diff(*baseline_, *current);
      out.metric("added", static_cast<double>(d.added.size()))
          .metric("removed", static_cast<double>(d.removed.size()))
          .metric("changed", static_cast<double>(d.changed.size()));
      if (!d.changed.empty()) problems.push_back("changed: " + listFirst(d.changed));
      if (!d.added.empty()) problems.push_back("added: " + listFirst(d.added));
      if (!d.removed.empty()) problems.push_back("removed: " + listFirst(d.removed));
    }
    out.status = problems.empty() ? CheckStatus::Ok : CheckStatus::Crit;
    out.message = problems.empty() ? fmt::format("{}: as expected ({} files)", path_, current->size())
                                   : fmt::format("{}: drift: ", path_);
    for (size_t i = 0; i < problems.size(); ++i) out.message += (i ? "; " : "") + problems[i];
    return out;
  }

 private:
  std::string path_;
  std::optional<std::string> sha256_;
  std::optional<uint32_t> mode_, uid_;
  std::optional<std::vector<baseline::Entry>> baseline_;
  bool must_exist_;
  size_t max_files_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv&) {
  return std::make_unique<FileCheck>(std::move(common), fields);
}

}  // namespace

extern const CheckKind kFileCheck;
const CheckKind kFileCheck{"file", "configuration drift: content hash, mode, owner of a file or tree", kFields,
                           Component::Security, &make};

}  // namespace hale::agent::checks
