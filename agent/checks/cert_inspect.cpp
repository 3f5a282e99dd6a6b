#include "agent/checks/cert_inspect.h"

#include <fmt/format.h>
#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <string_view>

namespace hale::agent::checks::cert {

struct Chain::Impl {
  mbedtls_x509_crt crt;
  Impl() { mbedtls_x509_crt_init(&crt); }
  ~Impl() { mbedtls_x509_crt_free(&crt); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

namespace {

std::string errorText(int code) { return fmt::format("-0x{:04x}", static_cast<unsigned>(-code)); }

SystemTime toSystemTime(const mbedtls_x509_time& t) {
  using namespace std::chrono;
  const sys_days day{year{t.year} / month{static_cast<unsigned>(t.mon)} / static_cast<unsigned>(t.day)};
  return time_point_cast<SystemTime::duration>(day + hours{t.hour} + minutes{t.min} + seconds{t.sec});
}

std::string nameText(const mbedtls_x509_name& name) {
  char buf[512];
  const int n = mbedtls_x509_dn_gets(buf, sizeof buf, &name);
  return n < 0 ? std::string("?") : std::string(buf, static_cast<size_t>(n));
}

bool looksLikePem(std::span<const uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return text.find("-----BEGIN") != std::string_view::npos;
}

// mbedTLS wants PEM input NUL-terminated, with the NUL counted in the length.
std::vector<uint8_t> withNul(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  out.push_back(0);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 6125: "*" stands for exactly one left-most label.
bool hostMatches(std::string pattern, const std::string& host) {
  pattern = lower(pattern);
  if (pattern == host) return true;
  if (pattern.size() > 2 && pattern.starts_with("*.")) {
    const auto dot = host.find('.');
    return dot != std::string::npos && dot > 0 && host.substr(dot) == pattern.substr(1);
  }
  return false;
}

}  // namespace

Chain::Chain() : impl_(std::make_unique<Impl>()) {}
Chain::~Chain() = default;
Chain::Chain(Chain&&) noexcept = default;
Chain& Chain::operator=(Chain&&) noexcept = default;

void Chain::collect() {
  certs_.clear();
  for (const mbedtls_x509_crt* c = &impl_->crt; c && c->raw.p; c = c->next) {
    CertInfo info;
    info.subject = nameText(c->subject);
    info.issuer = nameText(c->issuer);
    info.not_before = toSystemTime(c->valid_from);
    info.not_after = toSystemTime(c->valid_to);
    info.is_ca = c->ca_istrue != 0;
    certs_.push_back(std::move(info));
  }
}

Result<Chain> Chain::parse(std::span<const uint8_t> bytes, bool skip_bad_blocks) {
  Chain chain;
  if (bytes.empty()) return makeError("empty input: no certificate");
  if (looksLikePem(bytes)) {
    const auto buf = withNul(bytes);
    const int rc = mbedtls_x509_crt_parse(&chain.impl_->crt, buf.data(), buf.size());
    if (rc < 0) return makeError(fmt::format("no PEM certificate could be parsed ({})", errorText(rc)), rc);
    if (rc > 0 && !skip_bad_blocks)
      return makeError(fmt::format("{} PEM certificate block(s) could not be parsed", rc));
  } else {
    // DER: one certificate, or several concatenated; split on the outer SEQUENCE.
    unsigned char* p = const_cast<unsigned char*>(bytes.data());
    unsigned char* const end = p + bytes.size();
    while (p < end) {
      unsigned char* const start = p;
      size_t len = 0;
      int rc = mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
      if (rc != 0) return makeError(fmt::format("not a PEM or DER certificate ({})", errorText(rc)), rc);
      p += len;  // get_tag checked that len fits before end
      rc = mbedtls_x509_crt_parse_der(&chain.impl_->crt, start, static_cast<size_t>(p - start));
      if (rc != 0) return makeError(fmt::format("DER certificate could not be parsed ({})", errorText(rc)), rc);
    }
  }
  chain.collect();
  if (chain.certs_.empty()) return makeError("no certificate found");
  return chain;
}

Result<Chain> Chain::fromDerList(const std::vector<std::vector<uint8_t>>& ders) {
  Chain chain;
  for (const auto& der : ders) {
    const int rc = mbedtls_x509_crt_parse_der(&chain.impl_->crt, der.data(), der.size());
    if (rc != 0) return makeError(fmt::format("peer certificate could not be parsed ({})", errorText(rc)), rc);
  }
  chain.collect();
  if (chain.certs_.empty()) return makeError("the peer sent no certificate");
  return chain;
}

const CertInfo& Chain::earliestExpiry() const {
  return *std::min_element(certs_.begin(), certs_.end(),
                           [](const auto& a, const auto& b) { return a.not_after < b.not_after; });
}

const CertInfo& Chain::latestStart() const {
  return *std::max_element(certs_.begin(), certs_.end(),
                           [](const auto& a, const auto& b) { return a.not_before < b.not_before; });
}

bool Chain::matchesHost(const std::string& host_in) const {
  if (certs_.empty()) return false;
  const std::string host = lower(host_in);
  const mbedtls_x509_crt& leaf = impl_->crt;
  bool had_dns = false;
  for (const mbedtls_x509_sequence* s = &leaf.subject_alt_names; s && s->buf.p; s = s->next) {
    if (s->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) continue;
    had_dns = true;
    if (hostMatches(std::string(reinterpret_cast<const char*>(s->buf.p), s->buf.len), host)) return true;
  }
  if (had_dns) return false;  // with DNS SANs present, the CN is not consulted (RFC 6125)
  for (const mbedtls_x509_name* n = &leaf.subject; n && n->oid.p; n = n->next) {
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
        hostMatches(std::string(reinterpret_cast<const char*>(n->val.p), n->val.len), host))
      return true;
  }
  return false;
}

Result<std::string> Chain::verifyTrust(const Chain& trusted) const {
  if (certs_.empty() || trusted.certs_.empty()) return makeError("nothing to verify");
  uint32_t flags = 0;
  const int rc = mbedtls_x509_crt_verify(&impl_->crt, &trusted.impl_->crt, nullptr, nullptr, &flags, nullptr, nullptr);
  // Dates are judged by the check against its clock; only trust matters here.
  flags &= ~static_cast<uint32_t>(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
  if (rc == 0 || flags == 0) return std::string();
  char info[512];
  const int n = mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
  std::string text = n > 0 ? std::string(info, static_cast<size_t>(n)) : fmt::format("flags 0x{:x}", flags);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ';');
  return text;
}

Result<bool> Chain::matchesKey(std::span<const uint8_t> key_bytes) const {
  if (certs_.empty()) return makeError("no certificate");
  if (key_bytes.empty()) return makeError("empty key file");
  mbedtls_pk_context key;
  mbedtls_pk_init(&key);
  const auto buf =
      looksLikePem(key_bytes) ? withNul(key_bytes) : std::vector<uint8_t>(key_bytes.begin(), key_bytes.end());
  const int rc = mbedtls_pk_parse_key(&key, buf.data(), buf.size(), nullptr, 0);
  if (rc != 0) {
    mbedtls_pk_free(&key);
    return makeError(
        fmt::format("private key could not be parsed ({}; encrypted keys are not supported)", errorText(rc)), rc);
  }
  const bool ok = mbedtls_pk_check_pair(&impl_->crt.pk, &key) == 0;
  mbedtls_pk_free(&key);
  return ok;
}

double daysBetween(SystemTime now, SystemTime t) {
  return std::chrono::duration<double, std::ratio<86400>>(t - now).count();
}

std::string formatTime(SystemTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace hale::agent::checks::cert
