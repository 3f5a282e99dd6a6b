#pragma once
// Bearer tokens for the HTTP API. Comparison runs in constant time over
// SHA-256 digests of both sides, so neither the token's bytes nor its length
// leak through response timing.
#include <string>
#include <string_view>

namespace hale::aggregator::api {

/// Equal contents, in time independent of where they differ and of their lengths.
bool constantTimeEquals(std::string_view a, std::string_view b);

/// True when `authorization` is "Bearer <token>" (scheme case-insensitive) for `token`.
bool bearerMatches(std::string_view authorization, const std::string& token);

}  // namespace hale::aggregator::api
