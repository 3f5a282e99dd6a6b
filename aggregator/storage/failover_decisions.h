#pragma once
// Table owner of `failover_decisions`: every change of the active region; the
// highest epoch is the current state, so a restarted aggregator continues it.
#include "aggregator/storage/sql/connection.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

struct FailoverDecisionRow {
  uint64_t epoch = 0;
  int64_t at_ms = 0;
  std::string from_region;  ///< empty for the first decision
  std::string to_region;
  std::string reason;
};

class FailoverDecisionRepository {
 public:
  explicit FailoverDecisionRepository(Connection& conn);

  void insert(const FailoverDecisionRow& row);
  /// The decision with the highest epoch, if any.
  std::optional<FailoverDecisionRow> latest();
  /// The newest `limit` decisions, newest first.
  std::vector<FailoverDecisionRow> history(size_t limit);
  /// Decisions that moved the active region (all but the first choice).
  int64_t countChanges();

 private:
  StatementPtr insert_, history_, changes_;
};

}  // namespace hale::aggregator::storage
