#include "agent/remedies/remedy.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

using namespace hale;
using namespace hale::agent;
namespace fs = std::filesystem;

namespace {

remedies::Plan plan(const std::string& body) {
  const auto root = config::parseText("[[remedy]]\naction = \"clean\"\n" + body, "clean.toml");
  return remedies::parsePlan(*root.get("remedy"), "clean.toml", "disk", {RealClock::instance(), "/tmp"});
}

/// A file of `size` bytes last modified `age_s` seconds ago.
void makeFile(const std::string& path, size_t size, int64_t age_s) {
  fs::create_directories(fs::path(path).parent_path());
  test::writeFile(path, std::string(size, 'x'));
  const timespec when{static_cast<time_t>(::time(nullptr) - age_s), 0};
  const timespec times[2] = {when, when};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

remedies::ActionResult run(const remedies::Plan& p) { return p.steps.at(0).impl->execute({}); }

std::string configError(const std::string& body) {
  try {
    (void)plan(body);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("remedy_clean: deletes only files older than the age") {
  test::TempDir dir;
  const std::string root = dir.file("tmp");
  makeFile(root + "/old.log", 100, 3 * 86400);
  makeFile(root + "/sub/old.bin", 200, 3 * 86400);
  makeFile(root + "/new.log", 100, 60);
  const auto result = run(plan("roots = [\"" + root + "\"]\nolder_than = \"2d\"\n"));
  CHECK(result.ok);
  CHECK_FALSE(fs::exists(root + "/old.log"));
  CHECK_FALSE(fs::exists(root + "/sub/old.bin"));
  CHECK(fs::exists(root + "/new.log"));
  CHECK(fs::exists(root + "/sub"));  // directories stay
  CHECK(result.detail.find("deleted 2 of 2") != std::string::npos);
}

TEST_CASE("remedy_clean: globs match names, or paths under the root when they hold a slash") {
  test::TempDir dir;
  const std::string root = dir.file("tmp");
  makeFile(root + "/a.tmp", 10, 0);
  makeFile(root + "/core.1234", 10, 0);
  makeFile(root + "/keep.txt", 10, 0);
  makeFile(root + "/cache/x.dat", 10, 0);
  makeFile(root + "/other/x.dat", 10, 0);
  SUBCASE("globs alone") {
    CHECK(run(plan("roots = [\"" + root + "\"]\nglobs = [\"*.tmp\", \"core.*\", \"cache/*.dat\"]\n")).ok);
    CHECK_FALSE(fs::exists(root + "/a.tmp"));
    CHECK_FALSE(fs::exists(root + "/core.1234"));
    CHECK_FALSE(fs::exists(root + "/cache/x.dat"));
    CHECK(fs::exists(root + "/keep.txt"));
    CHECK(fs::exists(root + "/other/x.dat"));
  }
  SUBCASE("globs and age together: both must hold") {
    CHECK(run(plan("roots = [\"" + root + "\"]\nglobs = [\"*.tmp\"]\nolder_than = \"1h\"\n")).ok);
    CHECK(fs::exists(root + "/a.tmp"));
  }
}

TEST_CASE("remedy_clean: symlinks are neither followed nor deleted, and nothing outside the roots is touched") {
  test::TempDir dir;
  const std::string root = dir.file("tmp");
  const std::string outside = dir.file("precious");
  makeFile(outside + "/data.tmp", 50, 10 * 86400);
  makeFile(root + "/junk.tmp", 50, 10 * 86400);
  fs::create_symlink(outside + "/data.tmp", root + "/link.tmp");  // a file symlink
  fs::create_directory_symlink(outside, root + "/linkdir");       // a directory symlink
  const auto result = run(plan("roots = [\"" + root + "\"]\nglobs = [\"*.tmp\"]\nolder_than = \"1d\"\n"));
  CHECK(result.ok);
  CHECK_FALSE(fs::exists(root + "/junk.tmp"));
  CHECK(fs::exists(outside + "/data.tmp"));
  CHECK(fs::is_symlink(root + "/link.tmp"));
  CHECK(fs::is_symlink(root + "/linkdir"));
  CHECK(result.detail.find("2 symlinks left alone") != std::string::npos);

  SUBCASE("a root that is a symlink is refused at run time") {
    fs::create_directory_symlink(outside, dir.file("sneaky"));
    const auto refused = run(plan("roots = [\"" + dir.file("sneaky") + "\"]\nglobs = [\"*.tmp\"]\n"));
    CHECK_FALSE(refused.ok);
    CHECK(refused.detail.find("symlink") != std::string::npos);
    CHECK(fs::exists(outside + "/data.tmp"));
  }
  SUBCASE("a root reached through a symlinked parent is refused") {
    fs::create_directory_symlink(dir.path(), dir.file("via"));
    const auto refused = run(plan("roots = [\"" + dir.file("via") + "/precious\"]\nglobs = [\"*.tmp\"]\n"));
    CHECK_FALSE(refused.ok);
    CHECK(fs::exists(outside + "/data.tmp"));
  }
}

TEST_CASE("remedy_clean: a free-space target already met deletes nothing") {
  test::TempDir dir;
  const std::string root = dir.file("tmp");
  makeFile(root + "/a.tmp", 10, 0);
  const auto result = run(plan("roots = [\"" + root + "\"]\nglobs = [\"*\"]\nfree_target_pct = 0.0001\n"));
  CHECK(result.ok);
  CHECK(fs::exists(root + "/a.tmp"));
}

TEST_CASE("remedy_clean: rejects unsafe roots and rules with file:line:col") {
  CHECK(configError("roots = [\"/\"]\nglobs = [\"*\"]\n").find("clean.toml:3:") != std::string::npos);
  CHECK(configError("roots = [\"/\"]\nglobs = [\"*\"]\n").find("other than /") != std::string::npos);
  CHECK(configError("roots = [\"tmp\"]\nglobs = [\"*\"]\n").find("absolute") != std::string::npos);
  CHECK(configError("roots = [\"/var/../etc\"]\nglobs = [\"*\"]\n").find("normalized") != std::string::npos);
  CHECK(configError("roots = [\"/var/tmp\"]\n").find("older_than, globs or both") != std::string::npos);
  CHECK(configError("roots = [\"/var/tmp\"]\nglobs = [\"*\"]\nfree_target_pct = 150\n").find("percentage") !=
        std::string::npos);
}

TEST_CASE("remedy_clear_cache: empties known caches under home, removes symlinks as links") {
  test::TempDir dir;
  const std::string home = dir.file("home");
  const std::string outside = dir.file("outside");
  makeFile(home + "/.cache/pip/http/abc", 10, 0);
  makeFile(home + "/.npm/_cacache/index/x", 10, 0);
  makeFile(home + "/.cache/other/keep", 10, 0);
  makeFile(outside + "/precious", 10, 0);
  fs::create_directory_symlink(outside, home + "/.cache/pip/link");
  const auto root = config::parseText(
      "[[remedy]]\naction = \"clear_cache\"\nhome = \"" + home + "\"\ncaches = [\"pip\", \"npm\"]\n", "cache.toml");
  auto p = remedies::parsePlan(*root.get("remedy"), "cache.toml", "disk", {RealClock::instance(), "/tmp"});
  const auto r = run(p);
  CHECK(r.ok);
  CHECK(fs::is_empty(home + "/.cache/pip"));
  CHECK(fs::is_empty(home + "/.npm/_cacache"));
  CHECK(fs::exists(home + "/.cache/other/keep"));
  CHECK(fs::exists(outside + "/precious"));
  const auto bad = config::parseText("[[remedy]]\naction = \"clear_cache\"\ncaches = [\"docker\"]\n", "cache.toml");
  CHECK_THROWS_WITH_AS(remedies::parsePlan(*bad.get("remedy"), "cache.toml", "disk", {RealClock::instance(), "/tmp"}),
                       doctest::Contains("unknown cache 'docker'"), config::ConfigError);
}
