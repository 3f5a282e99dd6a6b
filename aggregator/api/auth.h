#pragma once
// Bearer tokens for the HTTP API, compared with crypto::constantTimeEqual over
// SHA-256 digests of both sides, so neither the token's bytes nor its length
// leak through response timing.
#include <string>
#include <string_view>

namespace hale::aggregator::api {

/// True when `authorization` is "Bearer <token>" (scheme case-insensitive) for `token`.
bool bearerMatches(std::string_view authorization, const std::string& token);

}  // namespace hale::aggregator::api
