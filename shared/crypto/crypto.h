#pragma once
// The few cryptographic primitives Hale needs, on mbedTLS 2.28: SHA-256 and
// HMAC-SHA256 (audit chain, webhook signatures) and ECDSA P-256 (commands).
#include "shared/util/result.h"

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hale::crypto {

using Digest = std::array<uint8_t, 32>;

Digest sha256(std::span<const uint8_t> data);
Digest sha256(std::string_view data);
/// SHA-256 of a file's content, read in 64 KiB pieces (bounded memory).
Result<Digest> sha256File(const std::string& path);
Digest hmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data);
/// Lower-case hex of HMAC-SHA256(key, data), as webhook signature headers carry it.
std::string hmacSha256Hex(std::string_view key, std::string_view data);
std::string toHex(std::span<const uint8_t> bytes);
/// Compares without an early exit, so timing does not reveal the first mismatch.
bool constantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);
/// Compares the SHA-256 digests of both sides with the above: timing reveals
/// neither where they differ nor their lengths (tokens, secrets).
bool constantTimeEqual(std::string_view a, std::string_view b);
/// Cryptographically random bytes (CTR-DRBG seeded from the system's entropy).
std::vector<uint8_t> randomBytes(size_t n);

/// An ECDSA P-256 key: private (can sign) or public only (can verify).
class Key {
 public:
  Key();
  ~Key();
  Key(Key&&) noexcept;
  Key& operator=(Key&&) noexcept;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;

  static Key generate();
  /// PEM text of a private key (SEC1 or PKCS#8) or a public key.
  static Result<Key> fromPem(std::string_view pem, bool is_private);
  /// Reads a PEM file; errors name the path.
  static Result<Key> fromFile(const std::string& path, bool is_private);

  std::string privatePem() const;
  std::string publicPem() const;
  /// A short, stable id of the public key (first 8 bytes of the SHA-256 of its DER), for rotation.
  std::string id() const;

  /// DER-encoded ECDSA signature over SHA-256(data).
  std::vector<uint8_t> sign(std::span<const uint8_t> data) const;
  bool verify(std::span<const uint8_t> data, std::span<const uint8_t> signature) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hale::crypto
