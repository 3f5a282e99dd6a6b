#include "agent/state/space_reserve.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

using namespace hale;
using namespace hale::agent;

namespace {
class FakeFs final : public platform::Filesystem {
 public:
  uint64_t available = 0;
  Result<platform::FsUsage> usage(const std::string&) const override {
    platform::FsUsage u;
    u.total_bytes = 100 << 20;
    u.available_bytes = available;
    return u;
  }
  Result<platform::DirUsage> directoryUsage(const std::string&, uint64_t) const override {
    return Error{"the space reserve never walks a tree", 0};
  }
};

uint64_t allocatedBytes(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}
}  // namespace

TEST_CASE("space_reserve: taken only with room for twice its size, with real blocks") {
  test::TempDir dir;
  FakeFs fs;
  state::SpaceReserve reserve(dir.file("space-reserve"), 256 * 1024, fs);
  CHECK_FALSE(reserve.held());
  fs.available = 2 * 256 * 1024 - 1;
  CHECK_FALSE(reserve.take());
  CHECK_FALSE(std::filesystem::exists(dir.file("space-reserve")));
  fs.available = 2 * 256 * 1024;
  CHECK(reserve.take());
  CHECK(reserve.held());
  CHECK(allocatedBytes(dir.file("space-reserve")) >= 256 * 1024);  // not a sparse file
}

TEST_CASE("space_reserve: release gives the space back once, a restart finds a whole reserve") {
  test::TempDir dir;
  FakeFs fs;
  fs.available = 10 << 20;
  {
    state::SpaceReserve reserve(dir.file("space-reserve"), 128 * 1024, fs);
    REQUIRE(reserve.take());
  }
  state::SpaceReserve again(dir.file("space-reserve"), 128 * 1024, fs);
  CHECK(again.held());
  CHECK(again.release());
  CHECK_FALSE(again.held());
  CHECK_FALSE(std::filesystem::exists(dir.file("space-reserve")));
  CHECK_FALSE(again.release());  // nothing left to give
  // A bigger reserve than the file left behind is not held.
  REQUIRE(again.take());
  state::SpaceReserve bigger(dir.file("space-reserve"), 1024 * 1024, fs);
  CHECK_FALSE(bigger.held());
}

TEST_CASE("space_reserve: size 0 means no reserve") {
  test::TempDir dir;
  FakeFs fs;
  fs.available = 10 << 20;
  state::SpaceReserve none(dir.file("space-reserve"), 0, fs);
  CHECK_FALSE(none.take());
  CHECK_FALSE(none.release());
  CHECK_FALSE(std::filesystem::exists(dir.file("space-reserve")));
}
