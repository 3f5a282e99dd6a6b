// Named exec policies: [[build_policy]] parsing, and a remedy budget persisted
// in the agent's state database that separate exec runs of one step share.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include "agent/ci/build_policy.h"
#include "agent/state/state_store.h"
#include "build_test_support.h"
#include "tests/fakes/fake_clock.h"

using namespace hale;
using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;
using namespace std::chrono_literals;

namespace {

struct Attempts : BuildObserver {
  std::vector<BuildAttempt> all;
  void onAttempt(const BuildAttempt& a) override { all.push_back(a); }
};

std::map<std::string, BuildPolicy> policiesOf(const std::string& text) {
  return buildPoliciesFrom(config::parseText(text, "agent.toml"), "agent.toml");
}

std::string errorOf(const std::string& text) {
  try {
    (void)policiesOf(text);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return {};
}

const std::vector<std::string> kFailingStep = {
    "/bin/sh", "-c",
    "echo 'fatal: unable to access https://example.invalid/: Could not resolve host: example.invalid'; exit 128"};

// One exec run of a step that fails with a network error every time.
int runFailingStep(const TempDir& dir, RemedyBudget* budget, Attempts& attempts, const std::string& name) {
  ExecOptions o;
  o.command = kFailingStep;
  o.retry_delay = 1ms;
  o.max_attempts = 2;
  o.policy_name = "ci";
  o.budget = budget;
  const int out = ::open(dir.file(name + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err = ::open(dir.file(name + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  o.stdout_fd = out;
  o.stderr_fd = err;
  const int rc = runExec(o, &shippedKb(), &attempts);
  ::close(out);
  ::close(err);
  return rc;
}

}  // namespace

TEST_CASE("build policy: [[build_policy]] tables are read and checked") {
  const auto p = policiesOf(
      "[[build_policy]]\nname = \"ci\"\nremedies_per_hour = 2\nrunner_per_hour = 20\nmax_attempts = 4\n"
      "[[build_policy]]\nname = \"nightly\"\nmode = \"dry-run\"\n");
  REQUIRE(p.size() == 2);
  CHECK(p.at("ci").remedies_per_hour == 2);
  CHECK(p.at("ci").runner_per_hour == 20);
  CHECK(p.at("ci").max_attempts == 4);
  CHECK(p.at("nightly").mode == ExecPolicy::DryRun);
  CHECK(p.at("nightly").remedies_per_hour == 3);
  CHECK(policiesOf("").empty());
  CHECK(errorOf("[[build_policy]]\nname = \"a\"\nmode = \"sometimes\"\n").find("agent.toml:3:") == 0);
  CHECK(errorOf("[[build_policy]]\nname = \"a\"\n[[build_policy]]\nname = \"a\"\n").find("duplicate") !=
        std::string::npos);
  CHECK(errorOf("[[build_policy]]\nname = \"off\"\n").find("must not be") != std::string::npos);
  CHECK(errorOf("[[build_policy]]\nname = \"a\"\nremedies_per_hour = -1\n").find("negative") != std::string::npos);
  CHECK(errorOf("[[build_policy]]\nname = \"a\"\nretries = 1\n").find("retries") != std::string::npos);
  CHECK(errorOf("build_policy = 3\n").find("array of tables") != std::string::npos);
}

TEST_CASE("build policy: two exec runs of one step share the budget, the second is refused, says so and records it") {
  TempDir dir;
  agent::state::StateStore store(dir.path());
  test::FakeClock clock;
  BuildPolicy policy;
  policy.name = "ci";
  policy.remedies_per_hour = 1;

  Attempts first;
  {
    LimiterBudget budget(store.db(), clock, policy);
    CHECK(runFailingStep(dir, &budget, first, "first") == 128);
  }
  REQUIRE(first.all.size() == 2);  // the one retry the budget allows
  CHECK(first.all[0].remedy == Remedy::Retry);
  CHECK(first.all[0].refused == Remedy::None);

  Attempts second;  // a separate exec: a new budget object over the same database
  {
    LimiterBudget budget(store.db(), clock, policy);
    CHECK(runFailingStep(dir, &budget, second, "second") == 128);
  }
  REQUIRE(second.all.size() == 1);
  CHECK(second.all[0].category == Category::Network);
  CHECK(second.all[0].remedy == Remedy::None);
  CHECK(second.all[0].refused == Remedy::Retry);
  CHECK(second.all[0].refusal.find("budget of 1 remedies per hour") != std::string::npos);
  CHECK(readAll(dir.file("second.err")).find("policy ci: not applying retry") != std::string::npos);

  // Another step has its own budget; and an hour later this one may retry again.
  LimiterBudget budget(store.db(), clock, policy);
  CHECK(budget.admit({"make", "other"}, Category::Network, Remedy::Retry).empty());
  CHECK_FALSE(budget.admit(kFailingStep, Category::Network, Remedy::Retry).empty());
  CHECK(budget.admit(kFailingStep, Category::Dependency, Remedy::ClearCache).empty());
  CHECK(budget.stepKey({"a", "b"}, Category::Network) != budget.stepKey({"a b"}, Category::Network));
  clock.advance(61min);
  Attempts later;
  CHECK(runFailingStep(dir, &budget, later, "later") == 128);
  CHECK(later.all.size() == 2);
}

TEST_CASE("build policy: the runner-wide budget caps every step together") {
  TempDir dir;
  agent::state::StateStore store(dir.path());
  test::FakeClock clock;
  BuildPolicy policy;
  policy.name = "ci";
  policy.remedies_per_hour = 5;
  policy.runner_per_hour = 2;
  LimiterBudget budget(store.db(), clock, policy);
  CHECK(budget.admit({"a"}, Category::Network, Remedy::Retry).empty());
  CHECK(budget.admit({"b"}, Category::Dependency, Remedy::ClearCache).empty());
  CHECK(budget.admit({"c"}, Category::Network, Remedy::Retry).find("this runner") != std::string::npos);
}
