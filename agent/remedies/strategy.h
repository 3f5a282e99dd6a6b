#pragma once
// Learning which alternative works: for steps marked `alternative`, the order
// is drawn by Thompson sampling from Beta(1 + successes, 1 + failures) per
// (check kind, failure kind, action), persisted in SQLite. A uniform prior
// means untried actions still get tried; the RNG is injected for tests.
#include "shared/sqlite/database.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace hale::agent::remedies {

struct StrategyStat {
  std::string check_kind;
  std::string failure_kind;
  std::string action;
  int64_t successes = 0;
  int64_t failures = 0;
  double mean() const { return (1.0 + successes) / (2.0 + successes + failures); }  ///< posterior mean
};

class Strategy {
 public:
  Strategy(sqlite::Database& db, uint64_t seed);

  void record(const std::string& check_kind, const std::string& failure_kind, const std::string& action, bool healed);
  StrategyStat stat(const std::string& check_kind, const std::string& failure_kind, const std::string& action);
  std::vector<StrategyStat> all();

  /// One Thompson draw per candidate; returns the indexes ordered best first.
  std::vector<size_t> order(const std::string& check_kind, const std::string& failure_kind,
                            const std::vector<std::string>& actions);

 private:
  double sampleBeta(double a, double b);
  sqlite::Statement get_, upsert_, all_;
  std::mt19937_64 rng_;
};

}  // namespace hale::agent::remedies
