#include "aggregator/api/auth.h"

#include <mbedtls/sha256.h>

#include <array>
#include <cstdint>

namespace hale::aggregator::api {
namespace {
std::array<unsigned char, 32> digest(std::string_view s) {
  std::array<unsigned char, 32> out{};
  mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data(), 0);
  return out;
}
}  // namespace

bool constantTimeEquals(std::string_view a, std::string_view b) {
  // Digests have a fixed length, so the loop below never depends on the input;
  // `volatile` keeps the compiler from turning it into an early-exit memcmp.
  const auto da = digest(a), db = digest(b);
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < da.size(); ++i) diff = diff | static_cast<unsigned char>(da[i] ^ db[i]);
  return diff == 0;
}

bool bearerMatches(std::string_view authorization, const std::string& token) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return false;
  }
  std::string_view given = authorization.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && (given.back() == ' ' || given.back() == '\t')) given.remove_suffix(1);
  return !given.empty() && constantTimeEquals(given, token);
}

}  // namespace hale::aggregator::api
