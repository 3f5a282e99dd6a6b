#include "agent/checks/anomaly.h"
#include "tests/support/check_harness.h"

#include <doctest/doctest.h>

#include <random>

using namespace hale;
using namespace hale::agent::checks;

namespace {
CommonSettings watching(const std::string& metric) {
  CommonSettings c;
  c.name = "web";
  c.anomaly.metrics = {metric};
  return c;
}

wire::ResultRecord result(double value) {
  wire::ResultRecord r;
  r.check = "web";
  r.status = wire::CheckStatus::Ok;
  r.message = "fine";
  r.metrics = {{"latency_ms", value}};
  return r;
}
}  // namespace

TEST_CASE("anomaly: a spike in a noisy series is flagged exactly where it is") {
  AnomalyTracker tracker;
  const auto settings = watching("latency_ms");
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(100.0, 5.0);
  std::vector<int> flagged;
  for (int i = 0; i < 400; ++i) {
    auto r = result(i == 250 ? 200.0 : noise(rng));
    tracker.apply(settings, r);
    if (r.status == wire::CheckStatus::Warn) flagged.push_back(i);
    if (i == 250) {
      CHECK(r.message.find("anomaly: latency_ms = 200") != std::string::npos);
      CHECK(r.metrics.size() == 2);  // the z-score is reported too
    }
  }
  // 3 sigma on Gaussian noise: the spike, and at most a rare false alarm.
  CHECK(std::find(flagged.begin(), flagged.end(), 250) != flagged.end());
  CHECK(flagged.size() <= 3);
}

TEST_CASE(
    "anomaly: nothing is judged during the warm-up, a slow drift is not an anomaly, a step is one only at first") {
  AnomalyTracker tracker;
  const auto settings = watching("latency_ms");
  auto r = result(1000.0);  // wildly off, but during warm-up
  tracker.apply(settings, r);
  CHECK(r.status == wire::CheckStatus::Ok);
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 2.0);
  int drift_alarms = 0;
  for (int i = 0; i < 500; ++i) {  // +0.05 per step: a slow drift from 100 to 125
    auto d = result(100.0 + 0.05 * i + noise(rng));
    tracker.apply(settings, d);
    if (d.status == wire::CheckStatus::Warn && i > 30) ++drift_alarms;
  }
  // An EWMA's variance estimate is itself noisy (about 20 points of memory at
  // alpha 0.1), so its 3-sigma tails are heavier than a Gaussian's: allow 2 %.
  CHECK(drift_alarms <= 10);
  int step_alarms = 0;
  for (int i = 0; i < 200; ++i) {  // a permanent step of +60
    auto s = result(185.0 + noise(rng));
    tracker.apply(settings, s);
    if (s.status == wire::CheckStatus::Warn) ++step_alarms;
  }
  CHECK(step_alarms >= 1);
  CHECK(step_alarms < 30);  // the EWMA adapts to the new level
}

TEST_CASE("anomaly: metrics not named by the rule are left alone") {
  AnomalyTracker tracker;
  const auto settings = watching("other");
  for (int i = 0; i < 100; ++i) {
    auto r = result(i == 90 ? 1e9 : 1.0);
    tracker.apply(settings, r);
    CHECK(r.status == wire::CheckStatus::Ok);
  }
}

TEST_CASE("anomaly: rejects bad config with the key and its line") {
  const auto err = test::configErrorOf(
      "[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\nanomaly_metrics = [\"used_percent\"]\nanomaly_alpha = "
      "1.5\n");
  CHECK(err.find(":6:") != std::string::npos);
  CHECK(err.find("'anomaly_alpha'") != std::string::npos);
  CHECK(test::configErrorOf("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\nanomaly_metrics = [\"a b\"]\n")
            .find("not a metric name") != std::string::npos);
}
