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

std::string humanRate(double bytes_per_s) {
  const double mag = std::abs(bytes_per_s);
  if (mag >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB/s", bytes_per_s / (1024.0 * 1024 * 1024));
  if (mag >= 1024.0 * 1024) return fmt::format("{:.1f} MiB/s", bytes_per_s / (1024.0 * 1024));
  if (mag >= 1024.0) return fmt::format("{:.1f} KiB/s", bytes_per_s / 1024.0);
  return fmt::format("{:.0f} B/s", bytes_per_s);
}

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
  }

  bool blocking() const override { return true; }  // statvfs on a hung NFS mount blocks

  Outcome run() override {
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
    fillRate(u, out);
    return out;
  }

 private:
  // Runs on a worker thread (blocking()), but never two runs of one check at once.
  void fillRate(const platform::FsUsage& u, Outcome& out) {
    const MonoTime now = clock_.monoNow();
    // A resized file system makes old samples meaningless.
    if (u.total_bytes != total_bytes_) samples_.clear();
    total_bytes_ = u.total_bytes;
    samples_.push_back({now, static_cast<double>(u.total_bytes - u.available_bytes)});
    while (samples_.size() > 1 && now - samples_.front().at > fill_window_) samples_.pop_front();
    if (samples_.size() > kMaxSamples) samples_.pop_front();
    if (samples_.size() < 2 || (now - samples_.front().at) * 10 < fill_window_) return;
    const double rate = slope(samples_);
    out.metric("fill_rate_bytes_per_s", rate);
    if (rate <= 0) return;
    const double seconds = static_cast<double>(u.available_bytes) / rate;
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
