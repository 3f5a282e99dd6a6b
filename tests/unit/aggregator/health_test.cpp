// Worked examples of the health formula (aggregator/health/health.h and
// docs/health.md): every number here is computed by hand in the comments.
#include "aggregator/health/health.h"

#include <doctest/doctest.h>

using namespace hale::aggregator::health;

namespace {
constexpr int64_t kNow = 1'000'000'000;
constexpr size_t kCompute = 0, kStorage = 1, kNetwork = 2, kSecurity = 3, kBuilds = 4;

NodeInput node(const std::string& id, const std::string& region, bool online = true, int64_t seen_ago_ms = 1000,
               int64_t heartbeat_ms = 1000) {
  NodeInput n;
  n.node = id;
  n.region = region;
  n.online = online;
  n.last_seen_ms = kNow - seen_ago_ms;
  n.heartbeat_interval_ms = heartbeat_ms;
  return n;
}

// The fleet of docs/health.md:
//   n1 eu  online, nothing open                         -> 100
//   n2 eu  online, crit in storage, warn in network     -> 100-40-15 = 45
//   n3 eu  offline (a crit in compute, still counted)   -> 0
//   n4 us  online, one result 10+ minutes old (compute) -> 100-10 = 90
//   n5 us  stale, warn in security (2 old results: ignored, liveness covers it) -> 0.5 x 85 = 42.5
std::vector<NodeInput> exampleFleet() {
  std::vector<NodeInput> nodes;
  nodes.push_back(node("n1", "eu"));
  auto n2 = node("n2", "eu");
  n2.open_crit[kStorage] = 1;
  n2.open_warn[kNetwork] = 1;
  nodes.push_back(n2);
  auto n3 = node("n3", "eu", /*online=*/false);
  n3.open_crit[kCompute] = 1;
  nodes.push_back(n3);
  auto n4 = node("n4", "us");
  n4.stale_results[kCompute] = 1;
  nodes.push_back(n4);
  auto n5 = node("n5", "us", true, /*seen_ago_ms=*/100'000, /*heartbeat_ms=*/10'000);
  n5.open_warn[kSecurity] = 1;
  n5.stale_results[kCompute] = 2;
  nodes.push_back(n5);
  return nodes;
}
}  // namespace

TEST_CASE("health: node scores of the worked example") {
  const auto fleet = exampleFleet();
  const FleetHealth h = computeHealth(fleet, kNow, Params{});
  REQUIRE(h.nodes.size() == 5);
  CHECK(h.nodes[0].score == 100.0);
  CHECK(h.nodes[0].liveness == Liveness::Online);

  CHECK(h.nodes[1].score == 45.0);
  CHECK(h.nodes[1].components[kStorage] == 60.0);
  CHECK(h.nodes[1].components[kNetwork] == 85.0);
  CHECK(h.nodes[1].components[kCompute] == 100.0);
  CHECK(h.nodes[1].open_crit == 1);
  CHECK(h.nodes[1].open_warn == 1);

  CHECK(h.nodes[2].liveness == Liveness::Offline);
  CHECK(h.nodes[2].score == 0.0);
  for (double c : h.nodes[2].components) CHECK(c == 0.0);

  CHECK(h.nodes[3].score == 90.0);
  CHECK(h.nodes[3].components[kCompute] == 90.0);
  CHECK(bandOf(h.nodes[3].score) == Band::Yellow);

  CHECK(h.nodes[4].liveness == Liveness::Stale);
  CHECK(h.nodes[4].score == 42.5);
  CHECK(h.nodes[4].components[kSecurity] == 42.5);
  CHECK(h.nodes[4].components[kCompute] == 50.0);
}

TEST_CASE("health: regions and fleet are means over nodes, rounded once") {
  const auto fleet = exampleFleet();
  const FleetHealth h = computeHealth(fleet, kNow, Params{});
  REQUIRE(h.regions.size() == 2);
  const GroupHealth& eu = h.regions[0];
  const GroupHealth& us = h.regions[1];
  CHECK(eu.name == "eu");
  // (100 + 45 + 0) / 3 = 48.33
  CHECK(eu.score == 48.3);
  CHECK(eu.components[kCompute] == 66.7);  // (100 + 100 + 0) / 3
  CHECK(eu.components[kStorage] == 53.3);  // (100 + 60 + 0) / 3
  CHECK(eu.components[kNetwork] == 61.7);  // (100 + 85 + 0) / 3
  CHECK(us.name == "us");
  CHECK(us.score == 66.3);                  // (90 + 42.5) / 2 = 66.25, half away from zero
  CHECK(us.components[kCompute] == 70.0);   // (90 + 50) / 2
  CHECK(us.components[kSecurity] == 71.3);  // (100 + 42.5) / 2 = 71.25
  CHECK(us.components[kBuilds] == 75.0);    // (100 + 50) / 2

  // (100 + 45 + 0 + 90 + 42.5) / 5 = 55.5
  CHECK(h.fleet.score == 55.5);
  CHECK(h.fleet.components[kCompute] == 68.0);   // (100+100+0+90+50)/5
  CHECK(h.fleet.components[kStorage] == 62.0);   // (100+60+0+100+50)/5
  CHECK(h.fleet.components[kNetwork] == 67.0);   // (100+85+0+100+50)/5
  CHECK(h.fleet.components[kSecurity] == 68.5);  // (100+100+0+100+42.5)/5
  CHECK(h.fleet.components[kBuilds] == 70.0);    // (100+100+0+100+50)/5
  CHECK(bandOf(*h.fleet.score) == Band::Red);

  const Counts& c = h.fleet.counts;
  CHECK(c.nodes == 5);
  CHECK(c.online == 3);
  CHECK(c.stale == 1);
  CHECK(c.offline == 1);
  CHECK(c.green == 1);
  CHECK(c.yellow == 1);
  CHECK(c.red == 3);
  CHECK(c.open_crit == 2);
  CHECK(c.open_warn == 2);
  CHECK(eu.counts.nodes == 3);
  CHECK(us.counts.stale == 1);
}

TEST_CASE("health: bands at their edges") {
  CHECK(bandOf(100.0) == Band::Green);
  CHECK(bandOf(90.1) == Band::Green);
  CHECK(bandOf(90.0) == Band::Yellow);
  CHECK(bandOf(70.0) == Band::Yellow);
  CHECK(bandOf(69.9) == Band::Red);
  CHECK(bandOf(0.0) == Band::Red);
  CHECK(bandName(Band::Yellow) == "yellow");
}

TEST_CASE("health: penalties clamp at zero and stale results are capped") {
  auto n = node("n", "r");
  SUBCASE("three crit issues: 100 - 120 clamps to 0") {
    n.open_crit[kCompute] = 3;
    CHECK(scoreNode(n, kNow, Params{}).score == 0.0);
    CHECK(scoreNode(n, kNow, Params{}).components[kStorage] == 100.0);
  }
  SUBCASE("one warn: 85, yellow; three warns: 55, red") {
    n.open_warn[kNetwork] = 1;
    CHECK(scoreNode(n, kNow, Params{}).score == 85.0);
    n.open_warn[kNetwork] = 3;
    CHECK(scoreNode(n, kNow, Params{}).score == 55.0);
  }
  SUBCASE("issues in two components add up on the node") {
    n.open_crit[kCompute] = 1;
    n.open_crit[kSecurity] = 1;
    const auto h = scoreNode(n, kNow, Params{});
    CHECK(h.score == 20.0);
    CHECK(h.components[kCompute] == 60.0);
    CHECK(h.components[kSecurity] == 60.0);
  }
  SUBCASE("five stale results cost 30, not 50") {
    n.stale_results[kStorage] = 5;
    CHECK(scoreNode(n, kNow, Params{}).score == 70.0);
    CHECK(scoreNode(n, kNow, Params{}).components[kStorage] == 70.0);
  }
}

TEST_CASE("health: liveness from status and heartbeats") {
  Params p;
  SUBCASE("three heartbeat intervals of silence make an online node stale") {
    CHECK(livenessOf(node("n", "r", true, 3000, 1000), kNow, p) == Liveness::Online);
    CHECK(livenessOf(node("n", "r", true, 3001, 1000), kNow, p) == Liveness::Stale);
  }
  SUBCASE("before the first heartbeat 30 s is assumed") {
    CHECK(livenessOf(node("n", "r", true, 90'000, 0), kNow, p) == Liveness::Online);
    CHECK(livenessOf(node("n", "r", true, 90'001, 0), kNow, p) == Liveness::Stale);
  }
  SUBCASE("offline wins over everything") {
    CHECK(livenessOf(node("n", "r", false, 0, 1000), kNow, p) == Liveness::Offline);
  }
}

TEST_CASE("health: an empty fleet has no score") {
  const FleetHealth h = computeHealth({}, kNow, Params{});
  CHECK_FALSE(h.fleet.score.has_value());
  CHECK(h.regions.empty());
  CHECK(h.fleet.counts.nodes == 0);
}
