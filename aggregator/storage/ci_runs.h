#pragma once
// Table owner of `ci_runs`: build outcomes CI systems reported by webhook
// (aggregator/webhooks parses them), one row per (source, run, status).
#include "aggregator/storage/sql/connection.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hale::aggregator::storage {

/// One build outcome as a CI system reported it.
struct CiRun {
  std::string source;      ///< github, gitlab, jenkins
  std::string repository;  ///< owner/name, group/project, or the Jenkins job
  std::string pipeline;    ///< workflow, check or pipeline name
  std::string run_id;
  std::string status;      ///< as sent: queued, in_progress, completed, running, success, STARTED...
  std::string conclusion;  ///< success, failure, cancelled...; empty while running
  std::string branch;
  std::string commit;
  std::string url;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  int64_t received_at_ms = 0;
};

struct CiRunFilter {
  std::string repository;  ///< empty: any
  std::string status;      ///< matches status or conclusion; empty: any
  std::string source;
  size_t limit = 100;
  size_t offset = 0;
};

class CiRunRepository {
 public:
  explicit CiRunRepository(Connection& conn);

  /// Stores a run; false when (source, run_id, status) was already recorded.
  bool insert(const CiRun& run);
  std::vector<CiRun> list(const CiRunFilter& filter);
  size_t count(const CiRunFilter& filter);
  /// conclusion (or status while unfinished) -> count of runs received since `since_ms`.
  std::vector<std::pair<std::string, uint64_t>> outcomes(int64_t since_ms);

 private:
  Connection& conn_;
  StatementPtr insert_;
};

}  // namespace hale::aggregator::storage
