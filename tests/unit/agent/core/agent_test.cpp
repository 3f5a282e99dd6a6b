// The agent on its own event loop, in this process: a verification asked for
// while the scheduler runs the check, and reloads while a check hangs.
#include "agent/core/agent.h"
#include "tests/fakes/gate_check.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;

namespace {

/// Runs an agent's loop on its own thread; SIGTERM (the real shutdown path) ends it.
class RunningAgent {
 public:
  explicit RunningAgent(AgentConfig cfg) : agent_(std::move(cfg)), loop_([this] { code_ = agent_.run(); }) {}
  ~RunningAgent() {
    ::raise(SIGTERM);
    loop_.join();
  }
  Agent& operator*() { return agent_; }
  Agent* operator->() { return &agent_; }

 private:
  Agent agent_;
  int code_ = -1;
  std::thread loop_;
};

/// File descriptors of this process open on `path` (a check reading a FIFO holds one).
int openedBy(const std::string& path) {
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(fd.path(), ec) == path) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("agent: a verification while the scheduler runs the check starts no second run") {
  test::TempDir dir;
  AgentConfig cfg;
  cfg.node = "n";
  cfg.region = "r";
  cfg.state_dir = dir.file("state");
  auto gate = std::make_shared<test::GateCheck>("gate", 300ms);  // one scheduled run, at the start
  const auto probe = gate->probe();
  cfg.checks.push_back(gate);
  std::atomic<bool> verified{false};
  wire::ResultRecord verdict;
  {
    RunningAgent agent(std::move(cfg));
    REQUIRE(probe->waitUntil([](auto& p) { return p.entries == 1; }));  // the scheduled run is inside run()
    agent->runCheckNow("gate", [&](const wire::ResultRecord& r) {
      verdict = r;
      verified = true;
    });
    REQUIRE(test::waitFor([&] { return verified.load(); }, 10s));
    probe->release();
  }
  CHECK(probe->read([](auto& p) { return p.most; }) == 1);
  // The run it waited for hung past its timeout, and that is what the engine hears.
  CHECK(verdict.status == wire::CheckStatus::Unknown);
  CHECK(verdict.message.find("timed out") != std::string::npos);
}

TEST_CASE("agent: reloads while a check hangs free nothing that the hung run still uses") {
  test::TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Held open for writing: a check's open() returns and its read() blocks until we write and close.
  const int writer = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(writer >= 0);
  const std::string config = dir.file("agent.toml");
  test::writeFile(config, "[agent]\nregion = \"r\"\nnode = \"n\"\nstate_dir = \"" + dir.file("state") +
                              "\"\n[[check]]\nname = \"drift\"\nkind = \"file\"\npath = \"" + fifo +
                              "\"\ninterval = \"1h\"\ntimeout = \"200ms\"\n");
  {
    RunningAgent agent(loadAgentConfig(config));
    REQUIRE(test::waitFor([&] { return openedBy(fifo) == 2; }, 10s));  // ours and the first run's
    for (int reload = 1; reload <= 3; ++reload) {
      ::raise(SIGHUP);
      // Each reload's new check hangs too; the replaced ones are still inside run().
      REQUIRE(test::waitFor([&] { return openedBy(fifo) == 2 + reload; }, 10s));
    }
    REQUIRE(::write(writer, "x", 1) == 1);
    ::close(writer);
    // Every run returns: the replaced checks must still exist for that.
    CHECK(test::waitFor([&] { return openedBy(fifo) == 0; }, 10s));
  }
}
