#include "agent/checks/file_baseline.h"
#include "shared/crypto/crypto.h"
#include "tests/support/check_harness.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

using namespace hale;
using namespace hale::agent::checks;

namespace {
std::string checkToml(const std::string& keys) { return "[[check]]\nname = \"f\"\nkind = \"file\"\n" + keys; }
}  // namespace

TEST_CASE("file_check: a file's hash, mode and owner against the configuration") {
  test::TempDir dir;
  const std::string path = dir.file("app.conf");
  test::writeFile(path, "listen 80\n");
  ::chmod(path.c_str(), 0644);
  const std::string hash = crypto::toHex(crypto::sha256(std::string_view("listen 80\n")));
  auto check = test::checkFromToml(checkToml("path = \"" + path + "\"\nsha256 = \"" + hash +
                                             "\"\nmode = \"0644\"\nowner = \"" + std::to_string(::getuid()) + "\"\n"));
  CHECK(check->run().status == wire::CheckStatus::Ok);

  test::writeFile(path, "listen 8080\n");
  auto changed = check->run();
  CHECK(changed.status == wire::CheckStatus::Crit);
  CHECK(changed.message.find("content hash") != std::string::npos);

  test::writeFile(path, "listen 80\n");
  ::chmod(path.c_str(), 0666);
  auto mode = check->run();
  CHECK(mode.status == wire::CheckStatus::Crit);
  CHECK(mode.message.find("mode 0666, expected 0644") != std::string::npos);
}

TEST_CASE("file_check: a missing file is critical unless it may be absent") {
  test::TempDir dir;
  auto must = test::checkFromToml(checkToml("path = \"" + dir.file("gone") + "\"\n"));
  CHECK(must->run().status == wire::CheckStatus::Crit);
  auto may = test::checkFromToml(checkToml("path = \"" + dir.file("gone") + "\"\nmust_exist = false\n"));
  CHECK(may->run().status == wire::CheckStatus::Ok);
}

TEST_CASE("file_check: a tree against its baseline reports what was added, removed and changed") {
  test::TempDir dir;
  const std::string root = dir.file("etc");
  test::writeFile(root + "/a.conf", "a");
  test::writeFile(root + "/sub/b.conf", "b");
  test::writeFile(root + "/c.conf", "c");
  test::writeFile(dir.file("outside"), "secret");
  std::filesystem::create_symlink(dir.file("outside"), root + "/link");
  auto recorded = baseline::scan(root, 100);
  REQUIRE(recorded.ok());
  CHECK(recorded->size() == 4);
  test::writeFile(dir.file("base.txt"), baseline::format(*recorded));
  auto check = test::checkFromToml(checkToml("path = \"" + root + "\"\nbaseline = \"" + dir.file("base.txt") + "\"\n"));
  CHECK(check->run().status == wire::CheckStatus::Ok);

  test::writeFile(root + "/sub/b.conf", "B");
  std::filesystem::remove(root + "/c.conf");
  test::writeFile(root + "/new.conf", "n");
  test::writeFile(dir.file("outside"), "changed behind the link");  // links are not followed
  auto out = check->run();
  CHECK(out.status == wire::CheckStatus::Crit);
  CHECK(out.message.find("changed: sub/b.conf") != std::string::npos);
  CHECK(out.message.find("added: new.conf") != std::string::npos);
  CHECK(out.message.find("removed: c.conf") != std::string::npos);
  CHECK(out.message.find("link") == std::string::npos);
  double added = -1, removed = -1, changed = -1;
  for (const auto& m : out.metrics) {
    if (m.name == "added") added = m.value;
    if (m.name == "removed") removed = m.value;
    if (m.name == "changed") changed = m.value;
  }
  CHECK(added == 1);
  CHECK(removed == 1);
  CHECK(changed == 1);
}

TEST_CASE("file_check: baselines round-trip and malformed lines are named") {
  std::vector<baseline::Entry> entries{{"dir/with space.txt", std::string(64, 'a'), 0640, 1000}};
  auto parsed = baseline::parse(baseline::format(entries));
  REQUIRE(parsed.ok());
  CHECK(parsed->front().path == "dir/with space.txt");
  CHECK(parsed->front().mode == 0640);
  auto bad = baseline::parse(baseline::format(entries) + "\nnot a baseline line\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("line 3") != std::string::npos);
  CHECK_FALSE(baseline::scan("/nonexistent/path", 10).ok());
}

TEST_CASE("file_check: rejects bad config with the key and its line") {
  CHECK(test::configErrorOf(checkToml("path = \"/etc\"\nsha256 = \"xyz\"\n")).find("'sha256'") != std::string::npos);
  const auto mode = test::configErrorOf(checkToml("path = \"/etc\"\nmode = \"rwx\"\n"));
  CHECK(mode.find(":5:") != std::string::npos);
  CHECK(mode.find("octal") != std::string::npos);
  CHECK(test::configErrorOf(checkToml("path = \"/etc\"\nowner = \"no-such-user-hale\"\n")).find("no user") !=
        std::string::npos);
  CHECK(test::configErrorOf(checkToml("path = \"/etc\"\nbaseline = \"/nonexistent/base\"\n"))
            .find("cannot read baseline") != std::string::npos);
  CHECK(test::configErrorOf(checkToml("mode = \"0644\"\n")).find("missing required key 'path'") != std::string::npos);
}
