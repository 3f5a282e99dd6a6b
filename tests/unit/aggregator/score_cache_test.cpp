// The score cache scores off the request path and serves the latest scoring;
// stale or missing scorings are not served, so callers score inline. The
// scoring step runs on the test's thread with a FakeClock; one case checks
// that start() runs it on the worker.
#include "aggregator/health/score_cache.h"
#include "shared/util/clock.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>

using namespace hale;
using namespace hale::aggregator::health;
using namespace std::chrono_literals;

namespace {
NodeInput onlineNode(const std::string& id, int64_t now_ms) {
  NodeInput n;
  n.node = id;
  n.region = "eu";
  n.online = true;
  n.last_seen_ms = now_ms;
  n.heartbeat_interval_ms = 1000;
  return n;
}

FleetHealth twoNodes(int64_t now_ms) {
  std::vector<NodeInput> nodes{onlineNode("a", now_ms), onlineNode("b", now_ms)};
  nodes[1].open_crit[0] = 1;  // b: a critical compute issue
  return computeHealth(nodes, now_ms, Params{});
}
}  // namespace

TEST_CASE("score_cache: serves the latest scoring with a by-node index until it is too old") {
  test::FakeClock clock;
  const int64_t t0 = toUnixMillis(clock.wallNow());
  ScoreCache cache(twoNodes, 1s, clock);
  CHECK_FALSE(cache.latest(t0, 5s));  // nothing scored yet
  cache.refreshNow();
  CHECK(cache.refreshes() == 1);
  const auto scored = cache.latest(t0, 5s);
  REQUIRE(scored);
  CHECK(scored->health.computed_at_ms == t0);
  REQUIRE(scored->node("a"));
  REQUIRE(scored->node("b"));
  CHECK(scored->node("a")->score == doctest::Approx(100));
  CHECK(scored->node("b")->score < scored->node("a")->score);
  CHECK(scored->node("c") == nullptr);
  CHECK(scored->health.fleet.counts.online == 2);
  // Exactly max_age old is still served; a millisecond more is not.
  CHECK(cache.latest(t0 + 5'000, 5s));
  CHECK_FALSE(cache.latest(t0 + 5'001, 5s));
  clock.advance(10s);
  cache.refreshNow();
  CHECK(cache.latest(t0 + 10'000, 5s)->health.computed_at_ms == t0 + 10'000);
}

TEST_CASE("score_cache: a failing scorer is counted and nothing is served") {
  test::FakeClock clock;
  ScoreCache cache([](int64_t) -> FleetHealth { throw std::runtime_error("database is locked"); }, 1s, clock);
  cache.refreshNow();
  cache.refreshNow();
  CHECK(cache.failures() == 2);
  CHECK(cache.refreshes() == 0);
  CHECK_FALSE(cache.latest(toUnixMillis(clock.wallNow()), 5s));
}

TEST_CASE("score_cache: start() rescores on its own thread") {
  test::FakeClock clock;
  std::atomic<int> calls{0};
  ScoreCache cache(
      [&](int64_t now_ms) {
        ++calls;
        return twoNodes(now_ms);
      },
      10ms, clock);
  cache.start();
  REQUIRE(test::waitFor([&] { return cache.refreshes() >= 3; }, 10s));
  CHECK(calls.load() >= 3);
  CHECK(cache.latest(toUnixMillis(clock.wallNow()), 5s));
}
