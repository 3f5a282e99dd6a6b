// disk: space and inode use of the file system holding `path`, whether it
// went read-only, and how fast it fills: a least-squares slope of the used bytes
// over `fill_window` predicts when it is full (Netdata's thresholds: warn when
// full in < 8 h, crit in < 2 h).
//
//   [[check]]
//   name = "root-disk"
//   kind = "disk"
//   path = "/"
//   warn_percent = 80
//   crit_percent = 90
//   fill_window = "30m"
//   full_warn = "8h"
//   full_crit = "2h"
//
// With `quota_bytes` it watches a directory tree against a quota instead of
// its file system ("this cache may use 2 GiB", a shared runner's scratch
// dir): use is what the tree occupies (as `du -sx` counts it), the percent
// thresholds and the fill rate are relative to the quota, and no root,
// quota tooling or mount is needed.
//
//   [[check]]
//   name = "build-cache"
//   kind = "disk"
//   path = "/var/cache/ci"
//   quota_bytes = 2147483648
#include "agent/checks/check.h"
#include "agent/platform/filesystem.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"path", config::FieldType::String, "", "a path on the file system to watch", true},
    {"warn_percent", config::FieldType::Float, "80", "space used (%) that warns"},
    {"crit_percent", config::FieldType::Float, "90", "space used (%) that is critical"},
    {"inodes_warn_percent", config::FieldType::Float, "80", "inodes used (%) that warns"},
    {"inodes_crit_percent", config::FieldType::Float, "90", "inodes used (%) that is critical"},
    {"read_only_status", config::FieldType::String, "crit", "status when mounted read-only: ok, warn or crit"},
    {"fill_window", config::FieldType::Duration, "30m",
     "fill rate is the slope of used bytes over this window (samples kept in memory); a prediction needs samples "
     "spanning a tenth of it"},
    {"full_warn", config::FieldType::Duration, "8h", "predicted time to full below this warns"},
    {"full_crit", config::FieldType::Duration, "2h", "predicted time to full below this is critical"},
    {"quota_bytes", config::FieldType::Integer, "",
     "watch the directory tree at path against this quota instead of its file system: use is what the tree "
     "occupies (du -sx), thresholds and fill rate are relative to the quota, inode thresholds do not apply"},
    {"max_entries", config::FieldType::Integer, "100000",
     "quota_bytes: a tree with more entries reports unknown (bounds the work of one run)"},
};

// Enough for a 30 m window at a 1 s interval; older samples are thinned out by the cap.
constexpr size_t kMaxSamples = 2048;

double percent(uint64_t used, uint64_t total) {
  return total == 0 ? 0.0 : 100.0 * static_cast<double>(used) / static_cast<double>(total);
}

// "1h12m", "3d4h", "45s": two units at most, people read it in a message.
std::string humanDuration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 86'400) return fmt::format("{}d{}h", s / 86'400, s % 86'400 / 3600);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string humanBytes(double bytes) {
  const double mag = std::abs(bytes);
  if (mag >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", bytes / (1024.0 * 1024 * 1024));
  if (mag >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024));
  if (mag >= 1024.0) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.0f} B", bytes);
}

std::string humanRate(double bytes_per_s) { return humanBytes(bytes_per_s) + "/s"; }

struct Sample {
  MonoTime at;
  double used_bytes;
};

// Least-squares slope in bytes per second; a straight line through noisy
// samples is steadier than the two end points.
double slope(const std::deque<Sample>& samples) {
  const MonoTime t0 = samples.front().at;
  const double y0 = samples.front().used_bytes;  // relative values: a flat series gives exactly 0
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& s : samples) {
    const double x = std::chrono::duration<double>(s.at - t0).count();
    const double y = s.used_bytes - y0;
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double den = n * sxx - sx * sx;
  return den <= 0 ? 0.0 : (n * sxy - sx * sy) / den;
}

class DiskCheck final : public Check {
 public:
  DiskCheck(CommonSettings common, const config::Fields& f, const platform::Filesystem& fs, const Clock& clock)
      : Check(std::move(common)), fs_(fs), clock_(clock), path_(f.str("path")), warn_(f.number("warn_percent")),
        crit_(f.number("crit_percent")), inodes_warn_(f.number("inodes_warn_percent")),
        inodes_crit_(f.number("inodes_crit_percent")) {
    if (warn_ > crit_) f.fail("warn_percent", fmt::format("must not exceed crit_percent ({})", crit_));
    if (inodes_warn_ > inodes_crit_) f.fail("inodes_warn_percent", "must not exceed inodes_crit_percent");
    auto ro = wire::parseStatus(f.str("read_only_status"));
    if (!ro || *ro == CheckStatus::Unknown) f.fail("read_only_status", "expected ok, warn or crit");
    read_only_status_ = *ro;
    fill_window_ = f.duration("fill_window");
    full_warn_ = f.duration("full_warn");
    full_crit_ = f.duration("full_crit");
    if (fill_window_.count() <= 0) f.fail("fill_window", "must be positive");
    if (full_crit_ > full_warn_)
      f.fail("full_crit", fmt::format("must not exceed full_warn ({})", config::formatDuration(full_warn_)));
    if (auto quota = f.optInteger("quota_bytes")) {
      if (*quota <= 0) f.fail("quota_bytes", "must be positive");
      quota_bytes_ = static_cast<uint64_t>(*quota);
    }
    if (f.integer("max_entries") <= 0) f.fail("max_entries", "must be positive");
    max_entries_ = static_cast<uint64_t>(f.integer("max_entries"));
  }

  bool blocking() const override { return true; }  // statvfs on a hung NFS mount blocks; a tree walk takes time

  Outcome run() override { return quota_bytes_ ? runQuota() : runFilesystem(); }

 private:
  Outcome runFilesystem() {
    auto usage = fs_.usage(path_);
    if (!usage) return Outcome{CheckStatus::Unknown, usage.error().message, {}};
    const auto& u = *usage;
    const double used_pct = percent(u.total_bytes - u.available_bytes, u.total_bytes);
    const double inodes_pct = percent(u.total_inodes - u.available_inodes, u.total_inodes);
    Outcome out;
    out.metric("used_percent", used_pct)
        .metric("available_bytes", static_cast<double>(u.available_bytes))
        .metric("total_bytes", static_cast<double>(u.total_bytes))
        .metric("inodes_used_percent", inodes_pct)
        .metric("read_only", u.read_only ? 1 : 0);
    const CheckStatus space = grade(used_pct, warn_, crit_);
    const CheckStatus inodes = u.total_inodes ? grade(inodes_pct, inodes_warn_, inodes_crit_) : CheckStatus::Ok;
    out.status = std::max(space, inodes);
    out.message = fmt::format("{}: {:.1f}% used, {:.1f} GiB free, inodes {:.1f}% used", path_, used_pct,
                              static_cast<double>(u.available_bytes) / (1024.0 * 1024 * 1024), inodes_pct);
    if (u.read_only) {
      out.status = std::max(out.status, read_only_status_);
      out.message += ", mounted read-only";
    }
    fillRate(u.total_bytes, u.total_bytes - u.available_bytes, u.available_bytes, out);
    return out;
  }

  Outcome runQuota() {
    auto tree = fs_.directoryUsage(path_, max_entries_);
    if (!tree) return Outcome{CheckStatus::Unknown, tree.error().message, {}};
    auto fs = fs_.usage(path_);  // the tree's file system: is it read-only?
    if (!fs) return Outcome{CheckStatus::Unknown, fs.error().message, {}};
    const uint64_t used = tree->bytes;
    const double used_pct = percent(used, quota_bytes_);  // past 100 when over quota
    Outcome out;
    out.metric("used_percent", used_pct)
        .metric("used_bytes", static_cast<double>(used))
        .metric("quota_bytes", static_cast<double>(quota_bytes_))
        .metric("available_bytes", static_cast<double>(quota_bytes_ > used ? quota_bytes_ - used : 0))
        .metric("files", static_cast<double>(tree->files))
        .metric("read_only", fs->read_only ? 1 : 0);
    out.status = grade(used_pct, warn_, crit_);
    out.message =
        fmt::format("{}: {:.1f}% of its {} quota used ({} in {} files)", path_, used_pct,
                    humanBytes(static_cast<double>(quota_bytes_)), humanBytes(static_cast<double>(used)), tree->files);
    if (fs->read_only) {
      out.status = std::max(out.status, read_only_status_);
      out.message += ", mounted read-only";
    }
    fillRate(quota_bytes_, used, quota_bytes_ > used ? quota_bytes_ - used : 0, out);
    return out;
  }

  // Runs on a worker thread (blocking()), but never two runs of one check at once.
  // `total` is the file system's size or the quota; a change makes old samples meaningless.
  void fillRate(uint64_t total, uint64_t used, uint64_t available, Outcome& out) {
    const MonoTime now = clock_.monoNow();
    if (total != total_bytes_) samples_.clear();
    total_bytes_ = total;
    samples_.push_back({now, static_cast<double>(used)});
    while (samples_.size() > 1 && now - samples_.front().at > fill_window_) samples_.pop_front();
    if (samples_.size() > kMaxSamples) samples_.pop_front();
    if (samples_.size() < 2 || (now - samples_.front().at) * 10 < fill_window_) return;
    const double rate = slope(samples_);
    out.metric("fill_rate_bytes_per_s", rate);
    if (rate <= 0) return;
    const double seconds = static_cast<double>(available) / rate;
    out.metric("seconds_to_full", seconds);
    out.message += fmt::format(", full in {} at {}", humanDuration(seconds), humanRate(rate));
    const auto left = std::chrono::duration<double>(seconds);
    if (left < full_crit_) {
      out.status = std::max(out.status, CheckStatus::Crit);
    } else if (left < full_warn_) {
      out.status = std::max(out.status, CheckStatus::Warn);
    }
  }

  const platform::Filesystem& fs_;
  const Clock& clock_;
  Millis fill_window_{30 * 60'000}, full_warn_{8 * 3'600'000}, full_crit_{2 * 3'600'000};
  std::deque<Sample> samples_;
  uint64_t total_bytes_ = 0;
  std::string path_;
  double warn_, crit_, inodes_warn_, inodes_crit_;
  uint64_t quota_bytes_ = 0;  // 0: the file system at path_ is watched
  uint64_t max_entries_ = 0;
  CheckStatus read_only_status_ = CheckStatus::Crit;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv& env) {
  return std::make_unique<DiskCheck>(std::move(common), fields, platform::realFilesystem(), env.clock);
}

}  // namespace

/// For tests: a disk check reading a fake file system, timed by `clock`.
CheckPtr makeDiskCheckForTest(CommonSettings common, const config::Fields& fields, const platform::Filesystem& fs,
                              const Clock& clock) {
  return std::make_unique<DiskCheck>(std::move(common), fields, fs, clock);
}

extern const CheckKind kDiskCheck;
const CheckKind kDiskCheck{"disk", "space, inodes and read-only state of a file system", kFields, Component::Storage,
                           &make};

}  // namespace hale::agent::checks
