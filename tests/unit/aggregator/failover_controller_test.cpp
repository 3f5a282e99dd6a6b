// Worked examples of the failover rules (aggregator/failover/controller.h),
// driven by a fake clock: a sample per region every second.
#include "aggregator/failover/controller.h"
#include "tests/fakes/fake_clock.h"

#include <doctest/doctest.h>

#include <vector>

using namespace hale::aggregator::failover;
using namespace std::chrono_literals;

namespace {
RegionPolicy region(std::string name, int priority) {
  RegionPolicy p;
  p.name = std::move(name);
  p.priority = priority;
  p.threshold = 70;
  p.windows = 3;
  p.window = 10s;
  p.min_dwell = 60s;
  p.failback = Failback::Manual;
  p.failback_after = 120s;
  return p;
}

struct Rig {
  hale::test::FakeClock clock;
  Controller controller;
  std::vector<Decision> decisions;

  explicit Rig(std::vector<RegionPolicy> regions) : controller(std::move(regions)) {}

  int64_t now() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock.wallNow().time_since_epoch()).count();
  }
  /// One sample per second for `d`, scores from `score(region, second)`.
  template <class F>
  void run(std::chrono::seconds d, F score, bool remediating = false) {
    for (int s = 0; s < d.count(); ++s) {
      std::vector<Observation> obs;
      for (const auto& r : controller.regions()) obs.push_back({r.name, score(r.name, s), remediating});
      if (auto decision = controller.evaluate(now(), obs)) decisions.push_back(*decision);
      clock.advance(1s);
    }
  }
};

auto healthy = [](const std::string&, int) -> std::optional<double> { return 100.0; };
auto aSick = [](const std::string& r, int) -> std::optional<double> { return r == "a" ? 40.0 : 100.0; };
}  // namespace

TEST_CASE("failover: the preferred region is active first with epoch 1") {
  Rig rig({region("b", 2), region("a", 1)});
  rig.run(5s, healthy);
  REQUIRE(rig.decisions.size() == 1);
  CHECK(rig.decisions[0].to == "a");
  CHECK(rig.decisions[0].from.empty());
  CHECK(rig.decisions[0].epoch == 1);
  CHECK(rig.decisions[0].reason == "initial");
}

TEST_CASE("failover: three bad windows demote a and promote b as the next healthy region by priority") {
  Rig rig({region("a", 1), region("b", 2), region("c", 3)});
  rig.run(60s, healthy);  // dwell served
  REQUIRE(rig.decisions.size() == 1);
  const int64_t sick_from = rig.now();
  // c is healthier on paper, but b comes first by priority.
  rig.run(45s, aSick);
  REQUIRE(rig.decisions.size() == 2);
  const auto& d = rig.decisions[1];
  CHECK(d.from == "a");
  CHECK(d.to == "b");
  CHECK(d.epoch == 2);
  CHECK(d.reason.find("3 windows below 70") != std::string::npos);
  // Windows are 10 s: three of them bad means 30 s of sickness, and the
  // decision comes when the third window closes (the first one was partly healthy).
  CHECK(d.at_ms - sick_from >= 30'000);
  CHECK(d.at_ms - sick_from <= 40'000);
}

TEST_CASE("failover: two bad windows are not enough and a good one resets the count") {
  Rig rig({region("a", 1), region("b", 2)});
  rig.run(60s, healthy);
  rig.run(20s, aSick);
  rig.run(10s, healthy);
  rig.run(20s, aSick);
  rig.run(10s, healthy);
  CHECK(rig.decisions.size() == 1);
}

TEST_CASE("failover: a window's mean decides so health oscillating each sample does not flap") {
  Rig rig({region("a", 1), region("b", 2)});
  rig.run(60s, healthy);
  // 100, 30, 100, 30 ...: mean 65 < 70: bad windows, one failover, then nothing more.
  auto oscillating = [](const std::string& r, int s) -> std::optional<double> {
    return r == "a" ? (s % 2 ? 30.0 : 100.0) : 100.0;
  };
  rig.run(300s, oscillating);
  REQUIRE(rig.decisions.size() == 2);
  CHECK(rig.decisions[1].to == "b");
  // 100, 60, 100, 60 ...: mean 80: never bad.
  Rig calm({region("a", 1), region("b", 2)});
  calm.run(300s, [](const std::string& r, int s) -> std::optional<double> {
    return r == "a" ? (s % 2 ? 60.0 : 100.0) : 100.0;
  });
  CHECK(calm.decisions.size() == 1);
}

TEST_CASE("failover: regions taking turns being sick switch at most once per min_dwell") {
  auto a = region("a", 1), b = region("b", 2);
  a.windows = b.windows = 1;
  a.min_dwell = b.min_dwell = 100s;
  Rig rig({a, b});
  // Every 20 s the sick region swaps: a bad window in the active region every other window.
  rig.run(400s, [](const std::string& r, int s) -> std::optional<double> {
    const bool a_sick = (s / 10) % 2 == 0;
    return (r == "a") == a_sick ? 10.0 : 100.0;
  });
  REQUIRE(rig.decisions.size() >= 2);
  for (size_t i = 2; i < rig.decisions.size(); ++i)
    CHECK(rig.decisions[i].at_ms - rig.decisions[i - 1].at_ms >= 100'000);
  CHECK(rig.decisions.size() <= 5);  // 400 s / 100 s dwell, plus the initial one
}

TEST_CASE("failover: min_dwell delays a demotion right after a switch") {
  auto a = region("a", 1);
  a.min_dwell = 90s;
  Rig rig({a, region("b", 2)});
  rig.run(40s, aSick);  // bad windows pile up, but a has not dwelt 90 s yet
  CHECK(rig.decisions.size() == 1);
  rig.run(60s, aSick);
  REQUIRE(rig.decisions.size() == 2);
  CHECK(rig.decisions[1].at_ms - rig.decisions[0].at_ms == 90'000);
}

TEST_CASE("failover: no healthy region to go to means no change") {
  Rig rig({region("a", 1), region("b", 2)});
  rig.run(60s, healthy);
  rig.run(100s, [](const std::string&, int) -> std::optional<double> { return 20.0; });
  CHECK(rig.decisions.size() == 1);
  // A region without any score (no nodes) is not a candidate either.
  rig.run(100s, [](const std::string& r, int) -> std::optional<double> {
    if (r == "a") return 20.0;
    return std::nullopt;
  });
  CHECK(rig.decisions.size() == 1);
}

TEST_CASE("failover: hold_while_remediating keeps a region active while Hale is fixing it") {
  auto a = region("a", 1);
  a.hold_while_remediating = true;
  Rig rig({a, region("b", 2)});
  rig.run(60s, healthy);
  rig.run(60s, aSick, /*remediating=*/true);
  CHECK(rig.decisions.size() == 1);
  rig.run(2s, aSick, false);  // the remediation is over and a is still sick
  REQUIRE(rig.decisions.size() == 2);
  CHECK(rig.decisions[1].to == "b");
}

TEST_CASE("failover: manual failback waits for an operator while auto fails back after a stable period") {
  for (Failback policy : {Failback::Manual, Failback::Auto}) {
    CAPTURE(failbackName(policy));
    auto a = region("a", 1);
    a.failback = policy;
    Rig rig({a, region("b", 2)});
    rig.run(60s, healthy);
    rig.run(40s, aSick);
    REQUIRE(rig.decisions.size() == 2);
    const int64_t healthy_from = rig.now();
    rig.run(100s, healthy);  // stable, but not for failback_after (120 s) yet
    CHECK(rig.decisions.size() == 2);
    rig.run(60s, healthy);
    if (policy == Failback::Manual) {
      CHECK(rig.decisions.size() == 2);
      auto manual = rig.controller.promote("a", rig.now());
      REQUIRE(manual);
      CHECK(manual->reason == "manual");
      CHECK(manual->epoch == 3);
      CHECK_FALSE(rig.controller.promote("a", rig.now()));  // already active
      CHECK_FALSE(rig.controller.promote("nowhere", rig.now()));
    } else {
      REQUIRE(rig.decisions.size() == 3);
      CHECK(rig.decisions[2].to == "a");
      CHECK(rig.decisions[2].reason == "failback");
      CHECK(rig.decisions[2].epoch == 3);
      CHECK(rig.decisions[2].at_ms - healthy_from >= 120'000);
      CHECK(rig.decisions[2].at_ms - healthy_from <= 140'000);
    }
  }
}

TEST_CASE("failover: auto failback restarts its stable period after any bad window") {
  auto a = region("a", 1);
  a.failback = Failback::Auto;
  Rig rig({a, region("b", 2)});
  rig.run(60s, healthy);
  rig.run(40s, aSick);
  REQUIRE(rig.decisions.size() == 2);
  for (int i = 0; i < 5; ++i) {  // 100 s good, one bad window: never 120 s stable
    rig.run(100s, healthy);
    rig.run(10s, aSick);
  }
  CHECK(rig.decisions.size() == 2);
}

TEST_CASE("failover: a restored state keeps its active region and its epoch grows from there") {
  Controller c({region("a", 1), region("b", 2)}, State{"b", 41, 0});
  const std::vector<Observation> obs = {{"a", 100.0, false}, {"b", 100.0, false}};
  CHECK_FALSE(c.evaluate(1'000, obs));
  CHECK(c.state().active == "b");
  auto d = c.promote("a", 2'000);
  REQUIRE(d);
  CHECK(d->epoch == 42);
  CHECK(d->from == "b");
  // A persisted region that is no longer configured is replaced at once.
  Controller gone({region("a", 1)}, State{"old", 7, 0});
  auto first = gone.evaluate(1'000, obs);
  REQUIRE(first);
  CHECK(first->to == "a");
  CHECK(first->epoch == 8);
}
