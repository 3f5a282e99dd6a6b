#pragma once
// Table owner of `issues`, as the agents report them (opened, updated, closed),
// and of the statistics read from them.
#include "aggregator/storage/sql/connection.h"
#include "shared/wire/envelope.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

struct IssueRow {
  std::string node;
  std::string region;
  wire::IssueRecord issue;
  int64_t updated_at_ms = 0;
};

struct IssueFilter {
  std::string node;    ///< empty: any
  std::string region;  ///< empty: any
  std::optional<bool> open;
  size_t limit = 100;
  size_t offset = 0;
};

/// Issue counts for one (region, component, severity); times are the agents' clocks.
struct IssueStatsRow {
  std::string region;
  int component = 0;
  int severity = 0;
  int64_t opened = 0;  ///< opened since the window start
  int64_t closed = 0;  ///< closed since the window start
  int64_t open_now = 0;
  int64_t repair_ms_sum = 0;  ///< sum of (closed - opened) over `closed`
};

/// Repairs of issues closed in a time range, split by who repaired them.
struct RepairTimes {
  int64_t remediated = 0;  ///< closed issues a remediation of Hale healed
  int64_t remediated_ms_sum = 0;
  int64_t other = 0;  ///< closed without a healing remediation (people, or the fault went away)
  int64_t other_ms_sum = 0;
};

/// An open critical issue, and whether a remediation for it failed (notifications).
struct OpenCriticalIssue {
  std::string node, region, check, message;
  uint64_t issue_id = 0;
  int64_t opened_at_ms = 0;
  bool remediation_failed = false;
};

class IssueRepository {
 public:
  explicit IssueRepository(Connection& conn);

  /// Stores an issue event; events can arrive out of order on replay, and a closed issue stays closed.
  void record(const std::string& node, const wire::IssueRecord& issue, int64_t updated_at_ms);
  std::vector<IssueRow> list(const IssueFilter& filter);
  size_t count(const IssueFilter& filter);
  std::vector<IssueStatsRow> statistics(int64_t since_ms);
  /// Issues closed in [since_ms, until_ms).
  RepairTimes repairTimes(int64_t since_ms, int64_t until_ms);
  std::vector<OpenCriticalIssue> openCritical();

 private:
  Connection& conn_;
  StatementPtr upsert_, open_critical_;
};

}  // namespace hale::aggregator::storage
