#include "agent/remedies/strategy.h"

#include <algorithm>
#include <numeric>

namespace hale::agent::remedies {

Strategy::Strategy(sqlite::Database& db, uint64_t seed)
    : get_(db,
           "SELECT successes, failures FROM strategy_stats WHERE check_kind = ? AND failure_kind = ? AND action = ?"),
      upsert_(db,
              "INSERT INTO strategy_stats(check_kind, failure_kind, action, successes, failures) VALUES(?, ?, ?, ?, ?) "
              "ON CONFLICT(check_kind, failure_kind, action) DO UPDATE SET "
              "successes = successes + excluded.successes, failures = failures + excluded.failures"),
      all_(db,
           "SELECT check_kind, failure_kind, action, successes, failures FROM strategy_stats "
           "ORDER BY check_kind, failure_kind, action"),
      rng_(seed) {}

void Strategy::record(const std::string& kind, const std::string& failure, const std::string& action, bool healed) {
  upsert_.with(kind, failure, action, int64_t{healed ? 1 : 0}, int64_t{healed ? 0 : 1}).run();
}

StrategyStat Strategy::stat(const std::string& kind, const std::string& failure, const std::string& action) {
  StrategyStat s{kind, failure, action, 0, 0};
  get_.with(kind, failure, action);
  if (get_.step()) {
    s.successes = get_.int64(0);
    s.failures = get_.int64(1);
  }
  get_.reset();
  return s;
}

std::vector<StrategyStat> Strategy::all() {
  std::vector<StrategyStat> out;
  all_.reset();
  while (all_.step()) out.push_back({all_.text(0), all_.text(1), all_.text(2), all_.int64(3), all_.int64(4)});
  all_.reset();
  return out;
}

double Strategy::sampleBeta(double a, double b) {
  // Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
  const double x = std::gamma_distribution<double>(a, 1.0)(rng_);
  const double y = std::gamma_distribution<double>(b, 1.0)(rng_);
  return x + y > 0 ? x / (x + y) : 0.5;
}

std::vector<size_t> Strategy::order(const std::string& kind, const std::string& failure,
                                    const std::vector<std::string>& actions) {
  std::vector<double> draws;
  for (const auto& a : actions) {
    const auto s = stat(kind, failure, a);
    draws.push_back(sampleBeta(1.0 + static_cast<double>(s.successes), 1.0 + static_cast<double>(s.failures)));
  }
  std::vector<size_t> idx(actions.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t l, size_t r) { return draws[l] > draws[r]; });
  return idx;
}

}  // namespace hale::agent::remedies
