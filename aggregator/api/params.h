#pragma once
// Query-string parameters shared by the resources: pages and ids. Each reader
// returns an error message for a malformed value (the handler answers 400).
#include "aggregator/api/http_types.h"

#include <optional>
#include <string>

namespace hale::aggregator::api {

/// A non-negative decimal integer, nothing else.
std::optional<size_t> parseSize(const std::string& text);

/// limit (1..1000) and offset; unset ones keep the values passed in.
std::optional<std::string> readPage(const Query& q, size_t& limit, size_t& offset);

/// An id-valued parameter (1-64 characters of [A-Za-z0-9._-]); unset keeps `out`.
std::optional<std::string> readId(const Query& q, const std::string& key, std::string& out);

/// Answers 400 for a path {parameter} that is not an id; nullopt when it is one.
std::optional<Response> refuseBadId(const std::string& value, std::string_view what);

}  // namespace hale::aggregator::api
