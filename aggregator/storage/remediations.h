#pragma once
// Table owner of `remediations`: the decisions agents report (fired, healed,
// failed, skipped ...), one row per (node, seq).
#include "aggregator/storage/category_count.h"
#include "aggregator/storage/sql/connection.h"
#include "shared/wire/envelope.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

struct RemediationRow {
  std::string node;
  std::string region;
  wire::RemediationRecord remediation;
};

struct RemediationFilter {
  std::string node;
  std::string region;
  std::string outcome;  ///< e.g. Healed; empty: any
  int64_t since_ms = 0;
  size_t limit = 100;
  size_t offset = 0;
};

class RemediationRepository {
 public:
  explicit RemediationRepository(Connection& conn);

  void record(const std::string& node, uint64_t seq, const wire::RemediationRecord& remediation);
  std::vector<RemediationRow> list(const RemediationFilter& filter);
  /// outcome name -> count since `since_ms`.
  std::vector<CategoryCount> outcomes(int64_t since_ms, const std::string& region);
  /// Regions with an attempt whose latest event since `since_ms` is Fired,
  /// Approved or Executed: a remediation is under way there.
  std::vector<std::string> regionsRemediating(int64_t since_ms);
  /// Failed decisions and those skipped for an open circuit breaker since
  /// `since_ms`, oldest first (notifications).
  std::vector<RemediationRow> failuresSince(int64_t since_ms);

 private:
  Connection& conn_;
  StatementPtr insert_, failures_;
};

}  // namespace hale::aggregator::storage
