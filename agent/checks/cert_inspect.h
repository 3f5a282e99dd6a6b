#pragma once
// Certificate parsing and judging, separate from how the bytes were obtained
// (a local file or a TLS handshake), so it is tested on generated certificates
// and can be fed to a fuzz target. Every function takes untrusted bytes and
// returns an Error instead of crashing or throwing.
#include "shared/util/clock.h"
#include "shared/util/result.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hale::agent::checks::cert {

struct CertInfo {
  std::string subject;
  std::string issuer;
  SystemTime not_before;
  SystemTime not_after;
  bool is_ca = false;
};

/// A parsed chain (leaf first, as stored or as sent by the peer).
class Chain {
 public:
  Chain();
  ~Chain();
  Chain(Chain&&) noexcept;
  Chain& operator=(Chain&&) noexcept;

  /// Parses PEM (one or more CERTIFICATE blocks) or DER (one certificate or
  /// several concatenated). Fails when no certificate parses; a PEM bundle in
  /// which some blocks are broken fails too, naming how many, unless
  /// `skip_bad_blocks` (trust bundles may hold a few anchors mbedTLS cannot read).
  static Result<Chain> parse(std::span<const uint8_t> bytes, bool skip_bad_blocks = false);
  /// Parses one DER certificate per element (a peer's chain from a handshake).
  static Result<Chain> fromDerList(const std::vector<std::vector<uint8_t>>& ders);

  const std::vector<CertInfo>& certs() const { return certs_; }
  size_t size() const { return certs_.size(); }

  /// The certificate that expires first; precondition: size() > 0.
  const CertInfo& earliestExpiry() const;
  /// The certificate whose validity starts last; precondition: size() > 0.
  const CertInfo& latestStart() const;

  /// Whether the leaf's SAN dNSName entries (or CN without SANs) cover `host`.
  bool matchesHost(const std::string& host) const;

  /// Verifies the leaf against `trusted` using the rest of this chain as
  /// intermediates. Validity dates are not judged here (the check does that
  /// against its own clock). Returns an empty string when trusted, otherwise why not.
  Result<std::string> verifyTrust(const Chain& trusted) const;

  /// Whether `key_bytes` (PEM or DER, unencrypted) is the private key of the leaf.
  Result<bool> matchesKey(std::span<const uint8_t> key_bytes) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<CertInfo> certs_;
  void collect();
};

/// Days (fractional) from `now` to `t`; negative when `t` has passed.
double daysBetween(SystemTime now, SystemTime t);

/// "2026-11-23 18:00:00 UTC".
std::string formatTime(SystemTime t);

}  // namespace hale::agent::checks::cert
