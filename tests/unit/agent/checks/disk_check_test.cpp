#include "agent/checks/check.h"
#include "agent/platform/filesystem.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <sys/statvfs.h>

#include <fstream>
#include <thread>

using namespace hale;
using namespace hale::agent;

namespace hale::agent::checks {
CheckPtr makeDiskCheckForTest(CommonSettings common, const config::Fields& fields, const platform::Filesystem& fs,
                              const Clock& clock);
}

namespace {
class FakeFilesystem : public platform::Filesystem {
 public:
  platform::FsUsage next;
  bool fail = false;
  Result<platform::FsUsage> usage(const std::string&) const override {
    if (fail) return Error{"statvfs(/x): Input/output error", 5};
    return next;
  }
};

checks::CheckPtr fromToml(const std::string& text) {
  auto root = config::parseText(text, "agent.toml");
  checks::CheckEnv env{RealClock::instance(), "/tmp"};
  return checks::makeCheck(*root["check"].as_array()->front().as_table(), "agent.toml", env);
}

std::string errorOf(const std::string& text) {
  try {
    (void)fromToml(text);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

checks::CheckPtr fakeDisk(const FakeFilesystem& fs, const std::string& extra = "",
                          const Clock& clock = RealClock::instance()) {
  auto root = config::parseText("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/x\"\n" + extra, "agent.toml");
  const auto& table = *root["check"].as_array()->front().as_table();
  std::vector<config::FieldSpec> spec(checks::commonFields().begin(), checks::commonFields().end());
  const auto* kind = checks::findKind("disk");
  spec.insert(spec.end(), kind->fields.begin(), kind->fields.end());
  auto fields = config::readFields(table, spec, "agent.toml", "check 'd'");
  checks::CommonSettings common;
  common.name = "d";
  common.kind = "disk";
  return checks::makeDiskCheckForTest(common, fields, fs, clock);
}

std::optional<double> metricOf(const checks::Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

platform::FsUsage usage(uint64_t total, uint64_t available, uint64_t inodes = 1000, uint64_t inodes_free = 900) {
  return platform::FsUsage{total, available, inodes, inodes_free, false};
}
}  // namespace

TEST_CASE("disk_check: status follows space thresholds") {
  FakeFilesystem fs;
  auto check = fakeDisk(fs);
  fs.next = usage(1000, 500);
  CHECK(check->run().status == checks::CheckStatus::Ok);
  fs.next = usage(1000, 150);
  CHECK(check->run().status == checks::CheckStatus::Warn);
  fs.next = usage(1000, 50);
  auto crit = check->run();
  CHECK(crit.status == checks::CheckStatus::Crit);
  CHECK(crit.message.find("95.0% used") != std::string::npos);
}

TEST_CASE("disk_check: inode exhaustion and read-only mounts are reported") {
  FakeFilesystem fs;
  auto check = fakeDisk(fs);
  fs.next = usage(1000, 900, 1000, 20);
  CHECK(check->run().status == checks::CheckStatus::Crit);
  fs.next = usage(1000, 900);
  fs.next.read_only = true;
  auto ro = check->run();
  CHECK(ro.status == checks::CheckStatus::Crit);
  CHECK(ro.message.find("read-only") != std::string::npos);
}

TEST_CASE("disk_check: a failing statvfs reports unknown with the reason") {
  FakeFilesystem fs;
  fs.fail = true;
  auto out = fakeDisk(fs)->run();
  CHECK(out.status == checks::CheckStatus::Unknown);
  CHECK(out.message.find("Input/output error") != std::string::npos);
}

TEST_CASE("disk_check: thresholds relative to the real use of a temp dir") {
  test::TempDir dir;
  struct statvfs st {};
  REQUIRE(::statvfs(dir.path().c_str(), &st) == 0);
  const double used = 100.0 * double(st.f_blocks - st.f_bavail) / double(st.f_blocks);
  auto below = fromToml("[[check]]\nname = \"t\"\nkind = \"disk\"\npath = \"" + dir.path() + "\"\nwarn_percent = " +
                        std::to_string(used + 5) + "\ncrit_percent = " + std::to_string(used + 6) + "\n");
  CHECK(below->run().status == checks::CheckStatus::Ok);
  auto above = fromToml("[[check]]\nname = \"t\"\nkind = \"disk\"\npath = \"" + dir.path() +
                        "\"\nwarn_percent = " + std::to_string(std::max(0.0, used - 6)) +
                        "\ncrit_percent = " + std::to_string(std::max(0.0, used - 1)) + "\n");
  CHECK(above->run().status == checks::CheckStatus::Crit);
}

TEST_CASE("disk_check: rejects bad config with the key and its line") {
  CHECK(errorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\n").find("missing required key 'path'") != std::string::npos);
  const auto order =
      errorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\nwarn_percent = 95\ncrit_percent = 90\n");
  CHECK(order.find("agent.toml:5:") == 0);
  CHECK(order.find("'warn_percent'") != std::string::npos);
  const auto kind = errorOf("[[check]]\nname = \"d\"\nkind = \"disc\"\n");
  CHECK(kind.find("agent.toml:3:") == 0);
  CHECK(kind.find("unknown kind 'disc'") != std::string::npos);
  const auto name = errorOf("[[check]]\nname = \"a b\"\nkind = \"disk\"\npath = \"/\"\n");
  CHECK(name.find("'name'") != std::string::npos);
}

TEST_CASE("disk_check: fill rate predicts time to full over the window") {
  constexpr uint64_t kMiB = 1024 * 1024;
  constexpr uint64_t kTotal = 1024 * 1024 * kMiB;
  const double rate = 3.1 * double(kMiB);
  FakeFilesystem fs;
  test::FakeClock clock;
  auto check = fakeDisk(fs, "warn_percent = 100\ncrit_percent = 100\n", clock);
  // 4320 s (1h12m) of space left at 3.1 MiB/s by the last sample.
  const double left_at_end = 4320 * rate;
  const int steps = 10;  // one sample a minute: 9 minutes span, more than a tenth of 30 m
  checks::Outcome out;
  for (int i = 0; i < steps; ++i) {
    const double available = left_at_end + rate * 60.0 * (steps - 1 - i);
    fs.next = usage(kTotal, uint64_t(available));
    out = check->run();
    if (i == 0) {
      // One sample predicts nothing.
      CHECK_FALSE(metricOf(out, "fill_rate_bytes_per_s").has_value());
      CHECK(out.status == checks::CheckStatus::Ok);
    }
    if (i == 2) CHECK_FALSE(metricOf(out, "fill_rate_bytes_per_s").has_value());  // 2 m < 3 m: too short to judge
    clock.advance(std::chrono::minutes(1));
  }
  INFO(out.message);
  REQUIRE(metricOf(out, "fill_rate_bytes_per_s").has_value());
  CHECK(*metricOf(out, "fill_rate_bytes_per_s") == doctest::Approx(rate).epsilon(0.001));
  CHECK(*metricOf(out, "seconds_to_full") == doctest::Approx(4320).epsilon(0.001));
  CHECK(out.message.find("full in 1h12m at 3.1 MiB/s") != std::string::npos);
  CHECK(out.status == checks::CheckStatus::Crit);
}

TEST_CASE("disk_check: full in less than full_warn warns, a steady or shrinking disk does not") {
  constexpr uint64_t kTotal = uint64_t(1) << 40;
  FakeFilesystem fs;
  test::FakeClock clock;
  auto check = fakeDisk(
      fs, "fill_window = \"10m\"\nfull_warn = \"6h\"\nfull_crit = \"1h\"\nwarn_percent = 100\ncrit_percent = 100\n",
      clock);
  // 1 MB/s with 5 h of space left: warn under full_warn = 6h.
  const double rate = 1e6;
  checks::Outcome out;
  for (int i = 0; i < 6; ++i) {
    fs.next = usage(kTotal, uint64_t(5 * 3600 * rate + rate * 60 * (5 - i)));
    out = check->run();
    clock.advance(std::chrono::minutes(1));
  }
  INFO(out.message);
  CHECK(out.status == checks::CheckStatus::Warn);
  CHECK(*metricOf(out, "seconds_to_full") == doctest::Approx(5 * 3600).epsilon(0.001));
  CHECK(out.message.find("full in 5h00m at 976.6 KiB/s") != std::string::npos);

  // Usage stays flat for longer than the window: the old slope ages out.
  for (int i = 0; i < 12; ++i) {
    out = check->run();
    clock.advance(std::chrono::minutes(1));
  }
  CHECK(out.status == checks::CheckStatus::Ok);
  CHECK(*metricOf(out, "fill_rate_bytes_per_s") == doctest::Approx(0.0));
  CHECK_FALSE(metricOf(out, "seconds_to_full").has_value());
  CHECK(out.message.find("full in") == std::string::npos);

  // Freed space: a negative rate, no prediction.
  for (int i = 0; i < 5; ++i) {
    fs.next.available_bytes += 1'000'000'000;
    out = check->run();
    clock.advance(std::chrono::minutes(1));
  }
  CHECK(*metricOf(out, "fill_rate_bytes_per_s") < 0);
  CHECK_FALSE(metricOf(out, "seconds_to_full").has_value());
  CHECK(out.status == checks::CheckStatus::Ok);
}

TEST_CASE("disk_check: fill rate of a real temp dir while a file grows") {
  test::TempDir dir;
  auto check = fromToml("[[check]]\nname = \"t\"\nkind = \"disk\"\npath = \"" + dir.path() +
                        "\"\nfill_window = \"2s\"\nwarn_percent = 100\ncrit_percent = 100\n");
  (void)check->run();
  {
    std::ofstream out(dir.file("grow"), std::ios::binary);
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 32; ++i) out.write(chunk.data(), std::streamsize(chunk.size()));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  auto out = check->run();
  INFO(out.message);
  REQUIRE(metricOf(out, "fill_rate_bytes_per_s").has_value());
  CHECK(*metricOf(out, "fill_rate_bytes_per_s") > 0);  // 32 MiB in about 0.25 s (counted before writeback)
  CHECK(metricOf(out, "seconds_to_full").has_value());
}

TEST_CASE("disk_check: rejects a bad fill-rate config with the key") {
  const auto order =
      errorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\nfull_warn = \"1h\"\nfull_crit = \"3h\"\n");
  CHECK(order.find("agent.toml:6:") == 0);
  CHECK(order.find("'full_crit'") != std::string::npos);
  CHECK(order.find("must not exceed full_warn (1h)") != std::string::npos);
  const auto zero = errorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\nfill_window = \"0s\"\n");
  CHECK(zero.find("'fill_window'") != std::string::npos);
  CHECK(zero.find("must be positive") != std::string::npos);
}
