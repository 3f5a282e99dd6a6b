#include "agent/checks/check.h"
#include "agent/platform/filesystem.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <sys/statvfs.h>

#include <filesystem>
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
  platform::DirUsage tree;
  bool fail = false;
  Result<platform::FsUsage> usage(const std::string&) const override {
    if (fail) return Error{"statvfs(/x): Input/output error", 5};
    return next;
  }
  Result<platform::DirUsage> directoryUsage(const std::string&, uint64_t) const override {
    if (fail) return Error{"open(/x): Permission denied", 13};
    return tree;
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

TEST_CASE("disk_check: quota_bytes grades a tree's use against the quota, not its file system") {
  FakeFilesystem fs;
  fs.next = usage(1'000'000, 999'000);  // the file system is nearly empty: it must not matter
  auto check = fakeDisk(fs, "quota_bytes = 1000\n");
  fs.tree = {500, 3};
  auto ok = check->run();
  CHECK(ok.status == checks::CheckStatus::Ok);
  CHECK(*metricOf(ok, "used_bytes") == 500);
  CHECK(*metricOf(ok, "quota_bytes") == 1000);
  CHECK(*metricOf(ok, "available_bytes") == 500);
  CHECK(*metricOf(ok, "files") == 3);
  CHECK(ok.message == "/x: 50.0% of its 1000 B quota used (500 B in 3 files)");
  fs.tree = {850, 4};
  CHECK(check->run().status == checks::CheckStatus::Warn);
  fs.tree = {1300, 5};  // over the quota: the percentage says by how much
  auto over = check->run();
  CHECK(over.status == checks::CheckStatus::Crit);
  CHECK(*metricOf(over, "used_percent") == doctest::Approx(130.0));
  CHECK(*metricOf(over, "available_bytes") == 0);
  CHECK_FALSE(metricOf(over, "inodes_used_percent").has_value());
  fs.next.read_only = true;
  fs.tree = {100, 1};
  auto ro = check->run();
  CHECK(ro.status == checks::CheckStatus::Crit);
  CHECK(ro.message.find("mounted read-only") != std::string::npos);
  fs.fail = true;
  auto failed = check->run();
  CHECK(failed.status == checks::CheckStatus::Unknown);
  CHECK(failed.message == "open(/x): Permission denied");
}

TEST_CASE("disk_check: quota_bytes fill rate predicts when the quota is reached") {
  constexpr uint64_t kMiB = 1024 * 1024;
  FakeFilesystem fs;
  fs.next = usage(uint64_t(1) << 40, uint64_t(1) << 39);
  test::FakeClock clock;
  auto check = fakeDisk(fs,
                        "quota_bytes = 104857600\nfill_window = \"10m\"\nwarn_percent = 100\n"
                        "crit_percent = 100\nfull_warn = \"2h\"\nfull_crit = \"30m\"\n",
                        clock);
  // 1 MiB a minute, 60 MiB used at the last sample: 40 minutes to the 100 MiB quota.
  checks::Outcome out;
  for (int i = 0; i < 6; ++i) {
    fs.tree = {(55 + uint64_t(i)) * kMiB, 10};
    out = check->run();
    clock.advance(std::chrono::minutes(1));
  }
  INFO(out.message);
  CHECK(*metricOf(out, "seconds_to_full") == doctest::Approx(40 * 60).epsilon(0.001));
  CHECK(out.message.find("full in 40m00s at 17.1 KiB/s") != std::string::npos);
  CHECK(out.status == checks::CheckStatus::Warn);
}

TEST_CASE("disk_check: quota_bytes on a real tree counts nested files once, never through a symlink") {
  test::TempDir outside, dir;
  const auto write = [](const std::string& path, size_t bytes) {
    std::ofstream out(path, std::ios::binary);
    std::string chunk(bytes, '\0');
    for (size_t i = 0; i < bytes; ++i) chunk[i] = char((i * 7919) % 251 + 1);  // no run of zeros to compress
    out.write(chunk.data(), std::streamsize(chunk.size()));
  };
  constexpr uint64_t kMiB = 1 << 20;
  write(outside.file("big"), 4 * kMiB);
  std::filesystem::create_directories(dir.file("a/b"));
  write(dir.file("top"), kMiB);
  write(dir.file("a/b/deep"), kMiB);
  std::filesystem::create_hard_link(dir.file("top"), dir.file("a/top-again"));
  std::filesystem::create_symlink(outside.file("big"), dir.file("a/link-to-big"));
  std::filesystem::create_directory_symlink(outside.path(), dir.file("link-to-outside"));
  auto check = fromToml("[[check]]\nname = \"q\"\nkind = \"disk\"\npath = \"" + dir.path() +
                        "\"\nquota_bytes = 4194304\nwarn_percent = 60\ncrit_percent = 90\n");
  auto out = check->run();
  INFO(out.message);
  REQUIRE(metricOf(out, "used_bytes").has_value());
  // Two MiB of file content plus the blocks of three directories and two symlinks.
  CHECK(*metricOf(out, "used_bytes") >= 2.0 * kMiB);
  CHECK(*metricOf(out, "used_bytes") < 2.0 * kMiB + 256 * 1024);
  CHECK(*metricOf(out, "files") == 2);
  CHECK(out.status == checks::CheckStatus::Ok);
  write(dir.file("a/b/more"), 2 * kMiB);
  CHECK(check->run().status == checks::CheckStatus::Crit);
  std::filesystem::remove(dir.file("a/b/more"));
  CHECK(check->run().status == checks::CheckStatus::Ok);
}

TEST_CASE("disk_check: quota_bytes reports unknown past max_entries, and rejects bad values") {
  test::TempDir dir;
  for (int i = 0; i < 5; ++i) test::writeFile(dir.file("f" + std::to_string(i)), "x");
  auto check = fromToml("[[check]]\nname = \"q\"\nkind = \"disk\"\npath = \"" + dir.path() +
                        "\"\nquota_bytes = 1048576\nmax_entries = 4\n");
  auto out = check->run();
  CHECK(out.status == checks::CheckStatus::Unknown);
  CHECK(out.message == dir.path() + ": more than 4 entries");
  const auto missing =
      fromToml("[[check]]\nname = \"q\"\nkind = \"disk\"\npath = \"" + dir.file("gone") + "\"\nquota_bytes = 1048576\n")
          ->run();
  CHECK(missing.status == checks::CheckStatus::Unknown);
  CHECK(missing.message.find("No such file or directory") != std::string::npos);
  const auto zero = errorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\nquota_bytes = 0\n");
  CHECK(zero.find("agent.toml:5:") == 0);
  CHECK(zero.find("'quota_bytes'") != std::string::npos);
  CHECK(zero.find("must be positive") != std::string::npos);
  const auto entries = errorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\nmax_entries = -1\n");
  CHECK(entries.find("'max_entries'") != std::string::npos);
}
