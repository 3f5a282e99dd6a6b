#pragma once
// Table owner of `check_results` (every result, pruned by retention) and
// `latest_results` (the newest result of each check of each node).
#include "aggregator/storage/sql/connection.h"
#include "shared/wire/envelope.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

struct LatestResult {
  std::string check;
  std::string kind;
  wire::CheckStatus status = wire::CheckStatus::Unknown;
  wire::Component component = wire::Component::Compute;
  std::string message;
  std::string metrics_json;
  int64_t observed_at_ms = 0;
};

class ResultRepository {
 public:
  explicit ResultRepository(Connection& conn);

  /// Appends a result and makes it the latest of its check unless a newer one is there.
  void record(const std::string& node, const wire::ResultRecord& result);
  /// The latest result of each check of `node`, by check name.
  std::vector<LatestResult> latest(const std::string& node);
  /// Retention: deletes results observed before `before_ms` (the latest of
  /// each check stays in latest_results); returns the rows deleted.
  size_t prune(int64_t before_ms);

 private:
  StatementPtr insert_, upsert_latest_, latest_, prune_;
};

}  // namespace hale::aggregator::storage
