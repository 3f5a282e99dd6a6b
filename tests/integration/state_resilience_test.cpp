// The agent heals the disk its own state lives on, and a damaged agent.db
// does not leave the node unwatched. Real binary, real file systems: a small
// tmpfs holds the state directory, a disk check on it and a clean remedy
// for a junk directory on it; the test fills the file system to the last
// byte and the agent must open the issue, run the plan and free the space,
// with every step in the audit log.
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "tests/support/harness.h"
#include "tests/support/skip.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

using namespace hale;
using namespace hale::test;
namespace fs = std::filesystem;

namespace {
/// A tmpfs of `megabytes` mounted on `dir` for the test's lifetime.
class SmallFs {
 public:
  SmallFs(const std::string& dir, int megabytes) : dir_(dir) {
    fs::create_directories(dir);
    const std::string opts = "size=" + std::to_string(megabytes) + "m";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~SmallFs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallFs(const SmallFs&) = delete;
  SmallFs& operator=(const SmallFs&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

/// Writes zeros into `path` until the file system refuses another byte.
void fillUp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  const std::string chunk(4096, '\0');
  while (::write(fd, chunk.data(), chunk.size()) > 0) {}
  const int err = errno;
  ::close(fd);
  CHECK(err == ENOSPC);
}

int countLines(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string agentConfig(const std::string& root, int reserve_kb) {
  return "[agent]\nnode = \"disk-node\"\nregion = \"test\"\nstate_dir = \"" + root +
         "/state\"\nheartbeat_interval = \"300ms\"\nstate_reserve_kb = " + std::to_string(reserve_kb) +
         "\n[remediation]\nauto_remediation = true\n"
         "[[check]]\nname = \"state-disk\"\nkind = \"disk\"\npath = \"" +
         root +
         "\"\ninterval = \"200ms\"\nwarn_percent = 90\ncrit_percent = 95\nfail_after = 2\npass_after = 1\n"
         "  [[check.remedy]]\n  action = \"clean\"\n  roots = [\"" +
         root + "/junk\"]\n  globs = [\"*.junk\"]\n  settle = \"100ms\"\n";
}
}  // namespace

TEST_CASE("state_resilience: with its state on a full file system the agent opens the issue, cleans and audits") {
  if (!skipUnless(::geteuid() == 0, "needs root to mount a small tmpfs")) return;
  TempDir dir;
  const std::string root = dir.file("small");
  SmallFs small(root, 8);
  if (!skipUnless(small.mounted(), "cannot mount a tmpfs here")) return;
  fs::create_directories(root + "/junk");
  writeFile(dir.file("agent.toml"), agentConfig(root, 256));
  Process agent({binaryDir() + "/hale-agent", "run", "--config", dir.file("agent.toml")}, dir.file("agent.log"));
  REQUIRE(waitFor([&] { return fs::exists(root + "/state/space-reserve"); }, std::chrono::seconds(10)));

  fillUp(root + "/junk/fill.junk");
  // The plan ran although every byte was taken: the junk is gone, and once
  // there is room the agent takes its reserve back.
  REQUIRE(waitFor([&] { return !fs::exists(root + "/junk/fill.junk"); }, std::chrono::seconds(30)));
  CHECK(waitFor([&] { return fs::exists(root + "/state/space-reserve"); }, std::chrono::seconds(10)));
  REQUIRE(agent.stop(SIGTERM).has_value());

  const std::string log = readFile(dir.file("agent.log"));
  INFO("agent log:\n", log);
  CHECK(countLines(log, "space reserve given back") == 1);
  CHECK(countLines(log, "issue opened") == 1);
  CHECK(countLines(log, "cannot track issue") == 0);
  CHECK(countLines(log, "disk is full") == 0);

  agent::state::StateStore store(root + "/state", 100'000, {.reserve_bytes = 0, .deep_check = true});
  agent::state::AuditLog audit(store.db());
  CHECK(audit.verify().ok);
  std::vector<std::string> outcomes;
  for (const auto& e : audit.tail(20))
    if (e.subject == "state-disk") outcomes.push_back(e.outcome);
  CHECK(outcomes == std::vector<std::string>{"fired", "executed", "healed"});
}

TEST_CASE("state_resilience: a damaged agent.db is set aside and the agent keeps watching") {
  TempDir dir;
  const std::string state = dir.file("state");
  {
    agent::state::StateStore store(state);
    agent::state::AuditLog(store.db()).append(1, "agent", "remediation", "x", "executed", "before");
  }
  {
    std::ofstream damage(state + "/agent.db", std::ios::in | std::ios::out | std::ios::binary);
    damage << "power loss";
  }
  writeFile(dir.file("agent.toml"), "[agent]\nnode = \"n\"\nregion = \"test\"\nstate_dir = \"" + state +
                                        "\"\n[[check]]\nname = \"tmp\"\nkind = \"disk\"\npath = \"" + dir.path() +
                                        "\"\ninterval = \"100ms\"\n");
  Process agent({binaryDir() + "/hale-agent", "run", "--config", dir.file("agent.toml")}, dir.file("agent.log"));
  REQUIRE(waitFor([&] { return readFile(dir.file("agent.log")).find("agent: starting") != std::string::npos; },
                  std::chrono::seconds(10)));
  // The node stays watched, and the reset is reported: the built-in agent-state check opens an
  // issue (sent to the aggregator like any other) while the damaged copy is kept.
  REQUIRE(waitFor(
      [&] { return readFile(dir.file("agent.log")).find("issue opened check=agent-state") != std::string::npos; },
      std::chrono::seconds(20)));
  CHECK(agent.running());
  REQUIRE(agent.stop(SIGTERM).has_value());
  const std::string log = readFile(dir.file("agent.log"));
  INFO("agent log:\n", log);
  CHECK(log.find("agent.db is damaged: set aside") != std::string::npos);
  const auto damaged = agent::state::damagedStateFiles(state);
  REQUIRE(damaged.size() == 1);
  CHECK(readFile(damaged[0]).rfind("power loss", 0) == 0);  // kept as it was, for inspection
  agent::state::StateStore fresh(state, 100'000, {.reserve_bytes = 0, .deep_check = true});
  CHECK_FALSE(fresh.resetAtOpen().has_value());
  const auto entries = agent::state::AuditLog(fresh.db()).tail(5);
  REQUIRE_FALSE(entries.empty());
  CHECK(entries[0].seq == 1);
  CHECK(entries[0].action == "state-reset");
  const auto issues = fresh.openIssues();
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].check == "agent-state");
  CHECK(issues[0].message.find(damaged[0]) != std::string::npos);
}
