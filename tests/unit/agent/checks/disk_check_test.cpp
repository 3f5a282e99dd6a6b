#include "agent/checks/check.h"
#include "agent/platform/filesystem.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <sys/statvfs.h>

using namespace hale;
using namespace hale::agent;

namespace hale::agent::checks {
CheckPtr makeDiskCheckForTest(CommonSettings common, const config::Fields& fields, const platform::Filesystem& fs);
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

checks::CheckPtr fakeDisk(const FakeFilesystem& fs, const std::string& extra = "") {
  auto root = config::parseText("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/x\"\n" + extra, "agent.toml");
  const auto& table = *root["check"].as_array()->front().as_table();
  std::vector<config::FieldSpec> spec(checks::commonFields().begin(), checks::commonFields().end());
  const auto* kind = checks::findKind("disk");
  spec.insert(spec.end(), kind->fields.begin(), kind->fields.end());
  auto fields = config::readFields(table, spec, "agent.toml", "check 'd'");
  checks::CommonSettings common;
  common.name = "d";
  common.kind = "disk";
  return checks::makeDiskCheckForTest(common, fields, fs);
}

platform::FsUsage usage(uint64_t total, uint64_t available, uint64_t inodes = 1000, uint64_t inodes_free = 900) {
  return platform::FsUsage{total, available, inodes, inodes_free, false};
}
}  // namespace

TEST_CASE("disk_check: status follows space thresholds") {
  FakeFilesystem fs;
  auto check = fakeDisk(fs);
  fs.next = usage(1000, 500);
  CHECK(check->run().status == checks::Status::Ok);
  fs.next = usage(1000, 150);
  CHECK(check->run().status == checks::Status::Warn);
  fs.next = usage(1000, 50);
  auto crit = check->run();
  CHECK(crit.status == checks::Status::Crit);
  CHECK(crit.message.find("95.0% used") != std::string::npos);
}

TEST_CASE("disk_check: inode exhaustion and read-only mounts are reported") {
  FakeFilesystem fs;
  auto check = fakeDisk(fs);
  fs.next = usage(1000, 900, 1000, 20);
  CHECK(check->run().status == checks::Status::Crit);
  fs.next = usage(1000, 900);
  fs.next.read_only = true;
  auto ro = check->run();
  CHECK(ro.status == checks::Status::Crit);
  CHECK(ro.message.find("read-only") != std::string::npos);
}

TEST_CASE("disk_check: a failing statvfs reports unknown with the reason") {
  FakeFilesystem fs;
  fs.fail = true;
  auto out = fakeDisk(fs)->run();
  CHECK(out.status == checks::Status::Unknown);
  CHECK(out.message.find("Input/output error") != std::string::npos);
}

TEST_CASE("disk_check: thresholds relative to the real use of a temp dir") {
  test::TempDir dir;
  struct statvfs st {};
  REQUIRE(::statvfs(dir.path().c_str(), &st) == 0);
  const double used = 100.0 * double(st.f_blocks - st.f_bavail) / double(st.f_blocks);
  auto below = fromToml("[[check]]\nname = \"t\"\nkind = \"disk\"\npath = \"" + dir.path() + "\"\nwarn_percent = " +
                        std::to_string(used + 5) + "\ncrit_percent = " + std::to_string(used + 6) + "\n");
  CHECK(below->run().status == checks::Status::Ok);
  auto above = fromToml("[[check]]\nname = \"t\"\nkind = \"disk\"\npath = \"" + dir.path() + "\"\nwarn_percent = " +
                        std::to_string(std::max(0.0, used - 6)) + "\ncrit_percent = " +
                        std::to_string(std::max(0.0, used - 1)) + "\n");
  CHECK(above->run().status == checks::Status::Crit);
}

TEST_CASE("disk_check: rejects bad config with the key and its line") {
  CHECK(errorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\n").find("missing required key 'path'") != std::string::npos);
  const auto order = errorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\nwarn_percent = 95\ncrit_percent = 90\n");
  CHECK(order.find("agent.toml:5:") == 0);
  CHECK(order.find("'warn_percent'") != std::string::npos);
  const auto kind = errorOf("[[check]]\nname = \"d\"\nkind = \"disc\"\n");
  CHECK(kind.find("agent.toml:3:") == 0);
  CHECK(kind.find("unknown kind 'disc'") != std::string::npos);
  const auto name = errorOf("[[check]]\nname = \"a b\"\nkind = \"disk\"\npath = \"/\"\n");
  CHECK(name.find("'name'") != std::string::npos);
}
