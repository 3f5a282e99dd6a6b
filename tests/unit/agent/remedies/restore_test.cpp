// restore with real files: a baseline recorded by the real `hale-agent
// baseline`, drift in content and mode, the plan run by the engine against the
// real file check.
#include "tests/support/remedy_harness.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

using namespace hale;
using namespace hale::agent;

namespace {
namespace fs = std::filesystem;

std::string asideOf(const std::string& path) {
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
    if (e.path().filename().string().rfind(fs::path(path).filename().string() + ".hale-drifted-", 0) == 0)
      return e.path().string();
  return "";
}
}  // namespace

TEST_CASE("remedy_restore: a drifted file is put back from its baseline copy, the drifted one kept aside") {
  test::RemedyRig rig;
  fs::create_directories(rig.etc);
  const std::string conf = rig.etc + "/app.conf";
  test::writeFile(conf, "listen = 8080\n");
  fs::permissions(conf, fs::perms(0640));
  rig.writeConfig("");
  REQUIRE(rig.baseline(conf, rig.dir.file("app.baseline")) == 0);
  // The copy is content-addressed under the state dir.
  const auto sha = test::readFile(rig.dir.file("app.baseline")).substr(0, 64);
  CHECK(test::readFile(rig.state + "/baseline/objects/" + sha) == "listen = 8080\n");

  rig.writeConfig("[[check]]\nname = \"app-conf\"\nkind = \"file\"\npath = \"" + conf + "\"\nbaseline = \"" +
                  rig.dir.file("app.baseline") + "\"\n  [[check.remedy]]\n  action = \"restore\"\n  settle = \"0s\"\n");
  auto cfg = loadAgentConfig(rig.config);
  test::writeFile(conf, "listen = 0.0.0.0:22\n");  // drift in content
  fs::permissions(conf, fs::perms(0666));          // and mode
  const auto outcomes = rig.remediate(cfg, "app-conf");
  CHECK(outcomes == std::vector<std::string>{"restore:fired", "restore:executed", "restore:healed"});
  CHECK(test::readFile(conf) == "listen = 8080\n");
  CHECK(test::modeOf(conf) == 0640);
  const auto aside = asideOf(conf);
  REQUIRE_FALSE(aside.empty());
  CHECK(test::readFile(aside) == "listen = 0.0.0.0:22\n");
  CHECK(test::modeOf(aside) == 0666);
  CHECK(rig.executed_reason.find("restored 1 of 1") != std::string::npos);
}

TEST_CASE("remedy_restore: a tree gets changed and removed files back, added ones aside, owners restored") {
  test::RemedyRig rig;
  fs::create_directories(rig.etc + "/conf.d");
  test::writeFile(rig.etc + "/main.conf", "main\n");
  test::writeFile(rig.etc + "/conf.d/a.conf", "a\n");
  test::writeFile(rig.etc + "/conf.d/big.bin", std::string(4096, 'x'));
  REQUIRE(::chown((rig.etc + "/conf.d/a.conf").c_str(), 65534, 65534) == 0);  // tests run as root
  rig.writeConfig("");
  REQUIRE(rig.baseline(rig.etc, rig.dir.file("etc.baseline"), {"--max-copy", "1000"}) == 0);
  CHECK(test::readFile(rig.dir.file("baseline.out")).find("1 larger than 1000 bytes") != std::string::npos);

  rig.writeConfig("[[check]]\nname = \"etc\"\nkind = \"file\"\npath = \"" + rig.etc + "\"\nbaseline = \"" +
                  rig.dir.file("etc.baseline") + "\"\n  [[check.remedy]]\n  action = \"restore\"\n  settle = \"0s\"\n");
  auto cfg = loadAgentConfig(rig.config);
  fs::remove(rig.etc + "/main.conf");
  test::writeFile(rig.etc + "/conf.d/a.conf.new", "evil\n");
  REQUIRE(::chown((rig.etc + "/conf.d/a.conf").c_str(), 0, 0) == 0);
  const auto outcomes = rig.remediate(cfg, "etc");
  CHECK(outcomes == std::vector<std::string>{"restore:fired", "restore:executed", "restore:healed"});
  CHECK(test::readFile(rig.etc + "/main.conf") == "main\n");
  struct stat st {};
  REQUIRE(::stat((rig.etc + "/conf.d/a.conf").c_str(), &st) == 0);
  CHECK(st.st_uid == 65534u);
  CHECK_FALSE(fs::exists(rig.etc + "/conf.d/a.conf.new"));
  const auto aside = asideOf(rig.etc);
  REQUIRE_FALSE(aside.empty());
  CHECK(test::readFile(aside + "/conf.d/a.conf.new") == "evil\n");
}

TEST_CASE("remedy_restore: a corrupt copy, a file over the bound and paths outside the baseline are refused") {
  test::RemedyRig rig;
  fs::create_directories(rig.etc);
  const std::string conf = rig.etc + "/app.conf";
  test::writeFile(conf, "good\n");
  rig.writeConfig("");
  REQUIRE(rig.baseline(conf, rig.dir.file("app.baseline")) == 0);
  const auto sha = test::readFile(rig.dir.file("app.baseline")).substr(0, 64);
  test::writeFile(rig.state + "/baseline/objects/" + sha, "tampered\n");
  rig.writeConfig("[[check]]\nname = \"app-conf\"\nkind = \"file\"\npath = \"" + conf + "\"\nbaseline = \"" +
                  rig.dir.file("app.baseline") + "\"\n  [[check.remedy]]\n  action = \"restore\"\n  settle = \"0s\"\n");
  {
    auto cfg = loadAgentConfig(rig.config);
    test::writeFile(conf, "bad\n");
    const auto outcomes = rig.remediate(cfg, "app-conf");
    CHECK(outcomes == std::vector<std::string>{"restore:fired", "restore:failed", "plan:failed"});
    CHECK(rig.failed_reason.find("corrupt") != std::string::npos);
    CHECK(test::readFile(conf) == "bad\n");  // never written from a copy that does not verify
  }
  // A baseline naming a path outside its root (an edited baseline file) is refused outright.
  test::writeFile(rig.dir.file("evil.baseline"),
                  std::string(64, 'a') + " 0644 0 ../../passwd\n" + std::string(64, 'b') + " 0644 0 x\n");
  rig.writeConfig("[[check]]\nname = \"etc\"\nkind = \"file\"\npath = \"" + rig.etc + "\"\nbaseline = \"" +
                  rig.dir.file("evil.baseline") +
                  "\"\n  [[check.remedy]]\n  action = \"restore\"\n  settle = \"0s\"\n");
  auto cfg = loadAgentConfig(rig.config);
  rig.remediate(cfg, "etc");
  CHECK(rig.failed_reason.find("'../../passwd' is outside") != std::string::npos);
  CHECK_FALSE(fs::exists(rig.dir.path() + "/../passwd"));
  // Restoring '/' or a relative path is a configuration error.
  rig.writeConfig(
      "[[check]]\nname = \"x\"\nkind = \"file\"\npath = \"/\"\n  [[check.remedy]]\n  action = \"restore\"\n"
      "  baseline = \"/nonexistent\"\n");
  CHECK_THROWS_WITH_AS(loadAgentConfig(rig.config), doctest::Contains("refusing to restore '/'"), config::ConfigError);
}
