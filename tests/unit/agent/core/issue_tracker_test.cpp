#include "agent/issues/issue_tracker.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <random>

using namespace hale;
using namespace hale::agent;

namespace {
checks::CommonSettings settings(int fail_after = 3, int pass_after = 2) {
  checks::CommonSettings c;
  c.name = "web";
  c.kind = "process";
  c.component = wire::Component::Compute;
  c.severity = wire::CheckStatus::Crit;
  c.fail_after = fail_after;
  c.pass_after = pass_after;
  return c;
}

wire::ResultRecord result(wire::CheckStatus status, int64_t at = 0) {
  wire::ResultRecord r;
  r.check = "web";
  r.status = status;
  r.message = std::string(wire::statusName(status));
  r.observed_at_ms = at;
  return r;
}
}  // namespace

TEST_CASE("issue_tracker: opens after fail_after bad results and closes after pass_after good ones") {
  test::TempDir dir;
  agent::state::StateStore store(dir.path());
  issues::IssueTracker tracker(store);
  const auto s = settings();
  CHECK_FALSE(tracker.observe(s, result(wire::CheckStatus::Crit, 1)));
  CHECK_FALSE(tracker.observe(s, result(wire::CheckStatus::Crit, 2)));
  auto opened = tracker.observe(s, result(wire::CheckStatus::Crit, 3));
  REQUIRE(opened);
  CHECK(opened->state == wire::IssueState::Opened);
  CHECK(opened->issue_id == 1);
  CHECK(opened->opened_at_ms == 3);
  CHECK_FALSE(tracker.observe(s, result(wire::CheckStatus::Crit, 4)));  // repeats are not events
  auto updated = tracker.observe(s, result(wire::CheckStatus::Warn, 5));
  REQUIRE(updated);
  CHECK(updated->state == wire::IssueState::Updated);
  CHECK_FALSE(tracker.observe(s, result(wire::CheckStatus::Ok, 6)));
  auto closed = tracker.observe(s, result(wire::CheckStatus::Ok, 7));
  REQUIRE(closed);
  CHECK(closed->state == wire::IssueState::Closed);
  CHECK(closed->closed_at_ms == 7);
  CHECK(tracker.open().empty());
}

TEST_CASE("issue_tracker: a check flapping every run never opens an issue") {
  test::TempDir dir;
  agent::state::StateStore store(dir.path());
  issues::IssueTracker tracker(store);
  const auto s = settings(2, 2);
  int events = 0;
  for (int i = 0; i < 1000; ++i)
    if (tracker.observe(s, result(i % 2 ? wire::CheckStatus::Crit : wire::CheckStatus::Ok, i))) ++events;
  CHECK(events == 0);
}

TEST_CASE("issue_tracker: random flapping yields alternating open/close events only") {
  test::TempDir dir;
  agent::state::StateStore store(dir.path());
  issues::IssueTracker tracker(store);
  const auto s = settings(3, 3);
  std::mt19937 rng(7);
  bool open = false;
  for (int i = 0; i < 5000; ++i) {
    auto ev = tracker.observe(s, result(rng() % 3 ? wire::CheckStatus::Crit : wire::CheckStatus::Ok, i));
    if (!ev) continue;
    if (ev->state == wire::IssueState::Opened) {
      CHECK_FALSE(open);
      open = true;
    } else if (ev->state == wire::IssueState::Closed) {
      CHECK(open);
      open = false;
    }
  }
}

TEST_CASE("issue_tracker: an open issue survives an agent restart") {
  test::TempDir dir;
  {
    agent::state::StateStore store(dir.path());
    issues::IssueTracker tracker(store);
    const auto s = settings(1, 1);
    REQUIRE(tracker.observe(s, result(wire::CheckStatus::Crit, 1)));
  }
  agent::state::StateStore store(dir.path());
  issues::IssueTracker tracker(store);
  REQUIRE(tracker.open().size() == 1);
  CHECK(tracker.open().at("web").issue_id == 1);
  CHECK_FALSE(tracker.observe(settings(1, 1), result(wire::CheckStatus::Crit, 2)));  // not reopened
  auto closed = tracker.observe(settings(1, 1), result(wire::CheckStatus::Ok, 3));
  REQUIRE(closed);
  CHECK(closed->issue_id == 1);
}
