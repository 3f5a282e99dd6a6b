#pragma once
// Table owner of `builds`: CI step attempts reported by `hale-agent exec`.
#include "aggregator/storage/category_count.h"
#include "aggregator/storage/sql/connection.h"
#include "shared/wire/envelope.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hale::aggregator::storage {

struct BuildRow {
  std::string node;
  std::string region;
  wire::BuildRecord build;
};

class BuildRepository {
 public:
  explicit BuildRepository(Connection& conn);

  /// Stores an attempt once per (node, build, attempt).
  void record(const std::string& node, const wire::BuildRecord& build);
  /// Failed attempts since `since_ms` by category, most frequent first.
  std::vector<CategoryCount> failedByCategory(int64_t since_ms, const std::string& region);
  std::vector<BuildRow> recent(int64_t since_ms, const std::string& region, const std::string& category, size_t limit);

 private:
  Connection& conn_;
  StatementPtr insert_;
};

}  // namespace hale::aggregator::storage
