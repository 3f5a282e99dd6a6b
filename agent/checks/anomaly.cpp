#include "agent/checks/anomaly.h"

#include <fmt/format.h>

#include <cmath>

namespace hale::agent::checks {

double EwmaDetector::stddev() const { return std::sqrt(variance_); }

std::optional<double> EwmaDetector::observe(double x) {
  ++seen_;
  if (seen_ == 1) {
    mean_ = x;
    return std::nullopt;
  }
  const double diff = x - mean_;
  const double sd = stddev();
  // A perfectly flat series has no spread: any change is "infinitely" far, so
  // measure against a floor of 1e-9 of the mean instead of dividing by zero.
  const double floor = std::max(std::abs(mean_) * 1e-9, 1e-12);
  const std::optional<double> z = seen_ > warmup_ ? std::optional<double>(diff / std::max(sd, floor)) : std::nullopt;
  const double increment = alpha_ * diff;
  mean_ += increment;
  variance_ = (1 - alpha_) * (variance_ + diff * increment);
  return z;
}

void AnomalyTracker::apply(const CommonSettings& check, wire::ResultRecord& result) {
  if (check.anomaly.metrics.empty()) return;
  std::vector<wire::MetricValue> added;
  for (const auto& m : result.metrics) {
    bool watched = false;
    for (const auto& name : check.anomaly.metrics) watched = watched || name == m.name;
    if (!watched) continue;
    auto [it, inserted] = detectors_.try_emplace(check.name + "/" + m.name, check.anomaly.alpha, check.anomaly.warmup);
    const double mean = it->second.mean();
    const auto z = it->second.observe(m.value);
    if (!z) continue;
    added.push_back({"anomaly_z_" + m.name, *z});
    if (std::abs(*z) <= check.anomaly.sigma) continue;
    result.status = std::max(result.status, wire::CheckStatus::Warn);
    result.message +=
        fmt::format("; anomaly: {} = {:g} is {:.1f} sigma from its usual {:g}", m.name, m.value, *z, mean);
  }
  for (auto& a : added)
    if (wire::isValidId(a.name) && result.metrics.size() < wire::kMaxMetricsPerResult) result.metrics.push_back(a);
}

}  // namespace hale::agent::checks
