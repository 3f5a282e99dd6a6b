// The score cache scores on its own thread and serves the latest scoring;
// stale or missing scorings are not served, so callers score inline.
#include "aggregator/health/score_cache.h"
#include "shared/util/clock.h"
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
}  // namespace

TEST_CASE("score_cache: rescores on its own thread and indexes nodes") {
  std::atomic<int> calls{0};
  ScoreCache cache(
      [&](int64_t now_ms) {
        ++calls;
        std::vector<NodeInput> nodes{onlineNode("a", now_ms), onlineNode("b", now_ms)};
        nodes[1].open_crit[0] = 1;  // b: a critical compute issue
        return computeHealth(nodes, now_ms, Params{});
      },
      10ms);
  REQUIRE(test::waitFor([&] { return cache.refreshes() >= 3; }, 5s));
  CHECK(calls.load() >= 3);
  const auto scored = cache.latest(unixMillisNow(), 5s);
  REQUIRE(scored);
  REQUIRE(scored->node("a"));
  REQUIRE(scored->node("b"));
  CHECK(scored->node("a")->score == doctest::Approx(100));
  CHECK(scored->node("b")->score < scored->node("a")->score);
  CHECK(scored->node("c") == nullptr);
  CHECK(scored->health.fleet.counts.online == 2);
  // Older than the allowed age: not served.
  CHECK_FALSE(cache.latest(unixMillisNow() + 60'000, 5s));
}

TEST_CASE("score_cache: a failing scorer is counted and nothing is served") {
  ScoreCache cache([](int64_t) -> FleetHealth { throw std::runtime_error("database is locked"); }, 10ms);
  REQUIRE(test::waitFor([&] { return cache.failures() >= 2; }, 5s));
  CHECK(cache.refreshes() == 0);
  CHECK_FALSE(cache.latest(unixMillisNow(), 5s));
}
