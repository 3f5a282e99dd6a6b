#pragma once
#include <string>
#include <string_view>

namespace hale {

/// Strict UTF-8 check (no overlongs, no surrogates, max U+10FFFF).
bool isValidUtf8(std::string_view s);

/// Replaces invalid sequences with U+FFFD so logs and JSON stay well-formed.
std::string sanitizeUtf8(std::string_view s);

}  // namespace hale
