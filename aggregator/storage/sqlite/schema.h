#pragma once
#include <span>
#include <string_view>

namespace hale::aggregator::storage::sqlite {

/// Migration i brings the aggregator's SQLite database from version i to i+1.
/// Append only: a released migration is never edited.
std::span<const std::string_view> migrations();

}  // namespace hale::aggregator::storage::sqlite
