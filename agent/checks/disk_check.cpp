// disk: space and inode use of the file system holding `path`, and whether it
// went read-only.
//
//   [[check]]
//   name = "root-disk"
//   kind = "disk"
//   path = "/"
//   warn_percent = 80
//   crit_percent = 90
#include "agent/checks/check.h"
#include "agent/platform/filesystem.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"path", config::FieldType::String, "", "a path on the file system to watch", true},
    {"warn_percent", config::FieldType::Float, "80", "space used (%) that warns"},
    {"crit_percent", config::FieldType::Float, "90", "space used (%) that is critical"},
    {"inodes_warn_percent", config::FieldType::Float, "80", "inodes used (%) that warns"},
    {"inodes_crit_percent", config::FieldType::Float, "90", "inodes used (%) that is critical"},
    {"read_only_status", config::FieldType::String, "crit", "status when mounted read-only: ok, warn or crit"},
};

double percent(uint64_t used, uint64_t total) { return total == 0 ? 0.0 : 100.0 * static_cast<double>(used) / static_cast<double>(total); }

class DiskCheck final : public Check {
 public:
  DiskCheck(CommonSettings common, const config::Fields& f, const platform::Filesystem& fs)
      : Check(std::move(common)),
        fs_(fs),
        path_(f.str("path")),
        warn_(f.number("warn_percent")),
        crit_(f.number("crit_percent")),
        inodes_warn_(f.number("inodes_warn_percent")),
        inodes_crit_(f.number("inodes_crit_percent")) {
    if (warn_ > crit_) f.fail("warn_percent", fmt::format("must not exceed crit_percent ({})", crit_));
    if (inodes_warn_ > inodes_crit_) f.fail("inodes_warn_percent", "must not exceed inodes_crit_percent");
    auto ro = wire::parseStatus(f.str("read_only_status"));
    if (!ro || *ro == Status::Unknown) f.fail("read_only_status", "expected ok, warn or crit");
    read_only_status_ = *ro;
  }

  bool blocking() const override { return true; }  // statvfs on a hung NFS mount blocks

  Outcome run() override {
    auto usage = fs_.usage(path_);
    if (!usage) return Outcome{Status::Unknown, usage.error().message, {}};
    const auto& u = *usage;
    const double used_pct = percent(u.total_bytes - u.available_bytes, u.total_bytes);
    const double inodes_pct = percent(u.total_inodes - u.available_inodes, u.total_inodes);
    Outcome out;
    out.metric("used_percent", used_pct)
        .metric("available_bytes", static_cast<double>(u.available_bytes))
        .metric("total_bytes", static_cast<double>(u.total_bytes))
        .metric("inodes_used_percent", inodes_pct)
        .metric("read_only", u.read_only ? 1 : 0);
    const Status space = grade(used_pct, warn_, crit_);
    const Status inodes = u.total_inodes ? grade(inodes_pct, inodes_warn_, inodes_crit_) : Status::Ok;
    out.status = std::max(space, inodes);
    out.message = fmt::format("{}: {:.1f}% used, {:.1f} GiB free, inodes {:.1f}% used", path_, used_pct,
                              static_cast<double>(u.available_bytes) / (1024.0 * 1024 * 1024), inodes_pct);
    if (u.read_only) {
      out.status = std::max(out.status, read_only_status_);
      out.message += ", mounted read-only";
    }
    return out;
  }

 private:
  const platform::Filesystem& fs_;
  std::string path_;
  double warn_, crit_, inodes_warn_, inodes_crit_;
  Status read_only_status_ = Status::Crit;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv&) {
  return std::make_unique<DiskCheck>(std::move(common), fields, platform::realFilesystem());
}

}  // namespace

/// For tests: a disk check reading a fake file system.
CheckPtr makeDiskCheckForTest(CommonSettings common, const config::Fields& fields, const platform::Filesystem& fs) {
  return std::make_unique<DiskCheck>(std::move(common), fields, fs);
}

extern const CheckKind kDiskCheck;
const CheckKind kDiskCheck{"disk", "space, inodes and read-only state of a file system", kFields,
                                  Component::Storage, &make};

}  // namespace hale::agent::checks
