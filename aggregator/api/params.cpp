#include "aggregator/api/params.h"

#include "shared/wire/topics.h"

#include <fmt/format.h>

#include <charconv>

namespace hale::aggregator::api {

std::optional<size_t> parseSize(const std::string& s) {
  size_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::string> readPage(const Query& q, size_t& limit, size_t& offset) {
  if (auto it = q.params.find("limit"); it != q.params.end()) {
    auto v = parseSize(it->second);
    if (!v || *v < 1 || *v > 1000) return "limit must be 1..1000";
    limit = *v;
  }
  if (auto it = q.params.find("offset"); it != q.params.end()) {
    auto v = parseSize(it->second);
    if (!v) return "offset must be a non-negative integer";
    offset = *v;
  }
  return std::nullopt;
}

std::optional<std::string> readId(const Query& q, const std::string& key, std::string& out) {
  auto it = q.params.find(key);
  if (it == q.params.end()) return std::nullopt;
  if (!wire::isValidId(it->second)) return key + " must be 1-64 characters of [A-Za-z0-9._-]";
  out = it->second;
  return std::nullopt;
}

std::optional<Response> refuseBadId(const std::string& value, std::string_view what) {
  if (wire::isValidId(value)) return std::nullopt;
  return errorResponse(400, fmt::format("{} are 1-64 characters of [A-Za-z0-9._-]", what));
}

}  // namespace hale::aggregator::api
