#include "shared/crypto/crypto.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

#include <fmt/format.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace hale::crypto {
namespace {

// One DRBG for the process, seeded once; mbedTLS's DRBG is not thread-safe by itself.
struct Drbg {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context ctx;
  std::mutex mutex;
  Drbg() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&ctx);
    static const char kPers[] = "hale";
    if (mbedtls_ctr_drbg_seed(&ctx, mbedtls_entropy_func, &entropy, reinterpret_cast<const unsigned char*>(kPers),
                              sizeof kPers - 1) != 0)
      throw std::runtime_error("cannot seed the random generator");
  }
  static int random(void* self, unsigned char* out, size_t n) {
    auto* d = static_cast<Drbg*>(self);
    std::lock_guard lock(d->mutex);
    return mbedtls_ctr_drbg_random(&d->ctx, out, n);
  }
};

Drbg& drbg() {
  static Drbg instance;
  return instance;
}

std::string mbedError(int rc) { return fmt::format("mbedTLS error -0x{:04x}", static_cast<unsigned>(-rc)); }

}  // namespace

Digest sha256(std::span<const uint8_t> data) {
  Digest out{};
  mbedtls_sha256_ret(data.data(), data.size(), out.data(), 0);
  return out;
}

Digest sha256(std::string_view data) {
  return sha256(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Result<Digest> sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("cannot read '{}'", path), 0};
  mbedtls_sha256_context ctx;
  mbedtls_sha256_init(&ctx);
  mbedtls_sha256_starts_ret(&ctx, 0);
  std::vector<char> buf(64 * 1024);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n) mbedtls_sha256_update_ret(&ctx, reinterpret_cast<const unsigned char*>(buf.data()), n);
  }
  const bool failed = in.bad();
  Digest out{};
  mbedtls_sha256_finish_ret(&ctx, out.data());
  mbedtls_sha256_free(&ctx);
  if (failed) return Error{fmt::format("error reading '{}'", path), 0};
  return out;
}

Digest hmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  Digest out{};
  mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key.data(), key.size(), data.data(), data.size(),
                  out.data());
  return out;
}

std::string toHex(std::span<const uint8_t> bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

bool constantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
  return toHex(hmacSha256({reinterpret_cast<const uint8_t*>(key.data()), key.size()},
                          {reinterpret_cast<const uint8_t*>(data.data()), data.size()}));
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  const Digest da = sha256(a), db = sha256(b);
  return constantTimeEqual(std::span<const uint8_t>(da), std::span<const uint8_t>(db));
}

std::vector<uint8_t> randomBytes(size_t n) {
  std::vector<uint8_t> out(n);
  if (Drbg::random(&drbg(), out.data(), n) != 0) throw std::runtime_error("random generator failed");
  return out;
}

struct Key::Impl {
  mbedtls_pk_context pk;
  bool is_private = false;
  Impl() { mbedtls_pk_init(&pk); }
  ~Impl() { mbedtls_pk_free(&pk); }
};

Key::Key() : impl_(std::make_unique<Impl>()) {}
Key::~Key() = default;
Key::Key(Key&&) noexcept = default;
Key& Key::operator=(Key&&) noexcept = default;

Key Key::generate() {
  Key key;
  int rc = mbedtls_pk_setup(&key.impl_->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (rc == 0) rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key.impl_->pk), Drbg::random, &drbg());
  if (rc != 0) throw std::runtime_error("key generation failed: " + mbedError(rc));
  key.impl_->is_private = true;
  return key;
}

Result<Key> Key::fromPem(std::string_view pem, bool is_private) {
  Key key;
  std::string text(pem);  // PEM parsing needs the terminating NUL counted in the length
  const auto* data = reinterpret_cast<const unsigned char*>(text.c_str());
  const int rc = is_private ? mbedtls_pk_parse_key(&key.impl_->pk, data, text.size() + 1, nullptr, 0)
                            : mbedtls_pk_parse_public_key(&key.impl_->pk, data, text.size() + 1);
  if (rc != 0)
    return Error{fmt::format("not a valid {} key: {}", is_private ? "private" : "public", mbedError(rc)), rc};
  if (!mbedtls_pk_can_do(&key.impl_->pk, MBEDTLS_PK_ECDSA) ||
      mbedtls_pk_ec(key.impl_->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
    return Error{"expected an ECDSA P-256 (prime256v1) key", 0};
  key.impl_->is_private = is_private;
  return key;
}

Result<Key> Key::fromFile(const std::string& path, bool is_private) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("cannot read key file '{}'", path), 0};
  std::stringstream ss;
  ss << in.rdbuf();
  auto key = fromPem(ss.str(), is_private);
  if (!key) return Error{fmt::format("{}: {}", path, key.error().message), key.error().code};
  return key;
}

std::string Key::privatePem() const {
  if (!impl_->is_private) throw std::logic_error("public key has no private part");
  std::vector<unsigned char> buf(4096);
  if (int rc = mbedtls_pk_write_key_pem(&impl_->pk, buf.data(), buf.size()); rc != 0)
    throw std::runtime_error(mbedError(rc));
  return reinterpret_cast<const char*>(buf.data());
}

std::string Key::publicPem() const {
  std::vector<unsigned char> buf(4096);
  if (int rc = mbedtls_pk_write_pubkey_pem(&impl_->pk, buf.data(), buf.size()); rc != 0)
    throw std::runtime_error(mbedError(rc));
  return reinterpret_cast<const char*>(buf.data());
}

std::string Key::id() const {
  std::vector<unsigned char> buf(512);
  // mbedtls_pk_write_pubkey_der writes at the END of the buffer and returns the length.
  const int len = mbedtls_pk_write_pubkey_der(&impl_->pk, buf.data(), buf.size());
  if (len <= 0) throw std::runtime_error("cannot encode public key");
  const auto digest = sha256(std::span(buf.data() + buf.size() - static_cast<size_t>(len), static_cast<size_t>(len)));
  return toHex(std::span(digest.data(), 8));
}

std::vector<uint8_t> Key::sign(std::span<const uint8_t> data) const {
  if (!impl_->is_private) throw std::logic_error("cannot sign with a public key");
  const Digest digest = sha256(data);
  std::vector<uint8_t> sig(MBEDTLS_PK_SIGNATURE_MAX_SIZE);
  size_t len = 0;
  const int rc = mbedtls_pk_sign(&impl_->pk, MBEDTLS_MD_SHA256, digest.data(), digest.size(), sig.data(), &len,
                                 Drbg::random, &drbg());
  if (rc != 0) throw std::runtime_error("signing failed: " + mbedError(rc));
  sig.resize(len);
  return sig;
}

bool Key::verify(std::span<const uint8_t> data, std::span<const uint8_t> signature) const {
  if (signature.empty() || signature.size() > MBEDTLS_PK_SIGNATURE_MAX_SIZE) return false;
  const Digest digest = sha256(data);
  return mbedtls_pk_verify(&impl_->pk, MBEDTLS_MD_SHA256, digest.data(), digest.size(), signature.data(),
                           signature.size()) == 0;
}

}  // namespace hale::crypto
