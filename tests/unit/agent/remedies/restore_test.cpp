// restore with real files: a baseline recorded by the real `hale-agent
// baseline`, drift in content and mode, the plan run by the engine against the
// real file check.
#include "agent/core/agent_config.h"
#include "agent/core/scheduler.h"
#include "agent/remedies/engine.h"
#include "tests/support/harness.h"

#include <asio/post.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <filesystem>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;

namespace {
namespace fs = std::filesystem;

/// Verifies with the configured checks themselves, as the agent does.
struct RealRunner final : remedies::CheckRunner {
  asio::io_context& io;
  std::vector<checks::CheckPtr>& checks;
  std::vector<wire::ResultRecord> results;
  RealRunner(asio::io_context& io_, std::vector<checks::CheckPtr>& c) : io(io_), checks(c) {}
  void runCheckNow(const std::string& name, std::function<void(const wire::ResultRecord&)> done) override {
    for (auto& c : checks)
      if (c->name() == name) {
        auto r = runWithDeadline(*c);
        results.push_back(r);
        asio::post(io, [done, r] { done(r); });
      }
  }
};

uint32_t modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

struct RestoreRig {
  test::TempDir dir;
  std::string state = dir.file("state");
  std::string config = dir.file("agent.toml");
  std::string etc = dir.file("etc");

  int baseline(const std::string& path, const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{test::binaryDir() + "/hale-agent", "baseline", path, "--out", out, "--config",
                                  config};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::runCommand(args, dir.file("baseline.out"));
  }
  void writeConfig(const std::string& check) {
    test::writeFile(config, "[agent]\nregion = \"r\"\nnode = \"n\"\nstate_dir = \"" + state + "\"\n" + check);
  }
  /// Opens an issue for `check` with its current result and runs the plan to its end.
  std::vector<std::string> remediate(AgentConfig& cfg, const std::string& check) {
    state::StateStore store(state);
    state::AuditLog audit(store.db());
    asio::io_context io;
    RealRunner runner(io, cfg.checks);
    remedies::Engine engine(io, store, audit, RealClock::instance(), runner, nullptr, 7);
    engine.configure(cfg.remediation, std::move(cfg.plans));
    wire::ResultRecord first;
    runner.runCheckNow(check, [&](const wire::ResultRecord& r) { first = r; });
    io.run();
    io.restart();
    REQUIRE(first.status == wire::Status::Crit);
    wire::IssueRecord issue;
    issue.issue_id = 1;
    issue.check = check;
    issue.state = wire::IssueState::Opened;
    issue.status = first.status;
    issue.message = first.message;
    engine.onIssue(issue, "file");
    const auto until = std::chrono::steady_clock::now() + 5s;
    do {
      io.restart();
      io.run_for(20ms);
    } while (engine.activeRunsForTest() > 0 && std::chrono::steady_clock::now() < until);
    CHECK(audit.verify().ok);
    std::vector<std::string> out;
    for (const auto& e : audit.tail(100)) {
      const auto detail = nlohmann::json::parse(e.detail);
      out.push_back(detail["step"].get<std::string>() + ":" + e.outcome);
      last_reason = detail["reason"].get<std::string>();
      if (e.outcome == "executed") executed_reason = last_reason;
      if (e.outcome == "failed" && detail["step"] == "restore") failed_reason = last_reason;
    }
    return out;
  }
  std::string last_reason, executed_reason, failed_reason;
};

std::string asideOf(const std::string& path) {
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
    if (e.path().filename().string().rfind(fs::path(path).filename().string() + ".hale-drifted-", 0) == 0)
      return e.path().string();
  return "";
}
}  // namespace

TEST_CASE("remedy_restore: a drifted file is put back from its baseline copy, the drifted one kept aside") {
  RestoreRig rig;
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
  fs::permissions(conf, fs::perms(0666));           // and mode
  const auto outcomes = rig.remediate(cfg, "app-conf");
  CHECK(outcomes == std::vector<std::string>{"restore:fired", "restore:executed", "restore:healed"});
  CHECK(test::readFile(conf) == "listen = 8080\n");
  CHECK(modeOf(conf) == 0640);
  const auto aside = asideOf(conf);
  REQUIRE_FALSE(aside.empty());
  CHECK(test::readFile(aside) == "listen = 0.0.0.0:22\n");
  CHECK(modeOf(aside) == 0666);
  CHECK(rig.executed_reason.find("restored 1 of 1") != std::string::npos);
}

TEST_CASE("remedy_restore: a tree gets changed and removed files back, added ones aside, owners restored") {
  RestoreRig rig;
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
  RestoreRig rig;
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
  test::writeFile(rig.dir.file("evil.baseline"), std::string(64, 'a') + " 0644 0 ../../passwd\n" +
                                                     std::string(64, 'b') + " 0644 0 x\n");
  rig.writeConfig("[[check]]\nname = \"etc\"\nkind = \"file\"\npath = \"" + rig.etc + "\"\nbaseline = \"" +
                  rig.dir.file("evil.baseline") + "\"\n  [[check.remedy]]\n  action = \"restore\"\n  settle = \"0s\"\n");
  auto cfg = loadAgentConfig(rig.config);
  rig.remediate(cfg, "etc");
  CHECK(rig.failed_reason.find("'../../passwd' is outside") != std::string::npos);
  CHECK_FALSE(fs::exists(rig.dir.path() + "/../passwd"));
  // Restoring '/' or a relative path is a configuration error.
  rig.writeConfig("[[check]]\nname = \"x\"\nkind = \"file\"\npath = \"/\"\n  [[check.remedy]]\n  action = \"restore\"\n"
                  "  baseline = \"/nonexistent\"\n");
  CHECK_THROWS_WITH_AS(loadAgentConfig(rig.config), doctest::Contains("refusing to restore '/'"), config::ConfigError);
}
