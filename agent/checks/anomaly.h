#pragma once
// Anomaly rules: any numeric metric of any check may be watched by an EWMA of
// its mean and variance; a value more than `sigma` standard deviations away
// (after a warm-up) raises the result to warn and says why. The EWMA adapts,
// so a slow drift is not an anomaly and a step change is one only at first.
#include "agent/checks/check.h"

#include <map>
#include <optional>
#include <string>

namespace hale::agent::checks {

class EwmaDetector {
 public:
  EwmaDetector(double alpha, int warmup) : alpha_(alpha), warmup_(warmup) {}
  /// Distance of `x` from the mean in standard deviations, measured before `x`
  /// joins the statistics; nullopt during the warm-up.
  std::optional<double> observe(double x);
  double mean() const { return mean_; }
  double stddev() const;

 private:
  double alpha_;
  int warmup_;
  int seen_ = 0;
  double mean_ = 0;
  double variance_ = 0;
};

/// One detector per (check, metric); applied to every result before it is stored.
class AnomalyTracker {
 public:
  void apply(const CommonSettings& check, wire::ResultRecord& result);

 private:
  std::map<std::string, EwmaDetector> detectors_;
};

}  // namespace hale::agent::checks
