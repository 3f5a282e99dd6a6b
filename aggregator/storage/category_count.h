#pragma once
#include <cstdint>
#include <string>

namespace hale::aggregator::storage {

/// How many rows fall in one category (a build failure category, a remediation outcome).
struct CategoryCount {
  std::string category;
  uint64_t count = 0;
};

}  // namespace hale::aggregator::storage
