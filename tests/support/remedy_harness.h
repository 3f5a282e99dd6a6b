#pragma once
// Running a remedy plan against real checks: the config is loaded as the agent
// loads it, the engine verifies each step with the configured check itself,
// and the audit trail is returned as "step:outcome" rows.
#include "agent/core/agent_config.h"
#include "agent/core/scheduler.h"
#include "agent/remedies/engine.h"
#include "tests/support/harness.h"

#include <asio/post.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <vector>

namespace hale::test {

/// Verifies with the configured checks themselves, as the agent does.
struct RealRunner final : agent::remedies::CheckRunner {
  asio::io_context& io;
  std::vector<agent::checks::CheckPtr>& checks;
  std::vector<wire::ResultRecord> results;
  RealRunner(asio::io_context& io_, std::vector<agent::checks::CheckPtr>& c) : io(io_), checks(c) {}
  void runCheckNow(const std::string& name, std::function<void(const wire::ResultRecord&)> done) override {
    for (auto& c : checks)
      if (c->name() == name) {
        auto r = agent::runWithDeadline(c);
        results.push_back(r);
        asio::post(io, [done, r] { done(r); });
      }
  }
};

inline uint32_t modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

struct RemedyRig {
  test::TempDir dir;
  std::string state = dir.file("state");
  std::string config = dir.file("agent.toml");
  std::string etc = dir.file("etc");

  int baseline(const std::string& path, const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        test::binaryDir() + "/hale-agent", "baseline", path, "--out", out, "--config", config};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::runCommand(args, dir.file("baseline.out"));
  }
  void writeConfig(const std::string& check) {
    test::writeFile(config, "[agent]\nregion = \"r\"\nnode = \"n\"\nstate_dir = \"" + state + "\"\n" + check);
  }
  /// Opens an issue for `check` with its current result and runs the plan to its end.
  std::vector<std::string> remediate(agent::AgentConfig& cfg, const std::string& check) {
    agent::state::StateStore store(state);
    agent::state::AuditLog audit(store.db());
    asio::io_context io;
    RealRunner runner(io, cfg.checks);
    agent::remedies::Engine engine(io, store, audit, RealClock::instance(), runner, nullptr, 7);
    engine.configure(cfg.remediation, std::move(cfg.plans));
    wire::ResultRecord first;
    runner.runCheckNow(check, [&](const wire::ResultRecord& r) { first = r; });
    io.run();
    io.restart();
    REQUIRE(first.status == wire::CheckStatus::Crit);
    wire::IssueRecord issue;
    issue.issue_id = 1;
    issue.check = check;
    issue.state = wire::IssueState::Opened;
    issue.status = first.status;
    issue.message = first.message;
    engine.onIssue(issue, first.kind);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      io.restart();
      io.run_for(std::chrono::milliseconds(20));
    } while (engine.activeRunsForTest() > 0 && std::chrono::steady_clock::now() < until);
    CHECK(audit.verify().ok);
    std::vector<std::string> out;
    for (const auto& e : audit.tail(100)) {
      const auto detail = nlohmann::json::parse(e.detail);
      out.push_back(detail["step"].get<std::string>() + ":" + e.outcome);
      last_reason = detail["reason"].get<std::string>();
      if (e.outcome == "executed") executed_reason = last_reason;
      if (e.outcome == "failed" && detail["step"] != "plan") failed_reason = last_reason;
    }
    return out;
  }
  std::string last_reason, executed_reason, failed_reason;
};

}  // namespace hale::test
