#include "shared/crypto/crypto.h"
#include "shared/wire/command.h"

#include <doctest/doctest.h>

#include <random>

using namespace hale;

namespace {
std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

wire::CommandSpec spec(int64_t now, std::string node = "n1") {
  wire::CommandSpec s;
  s.target_region = "eu";
  s.target_node = std::move(node);
  s.epoch = 3;
  s.issued_at_ms = now;
  s.expires_at_ms = now + 60'000;
  s.action = wire::AutoRemediationAction{false, ""};
  return s;
}
}  // namespace

TEST_CASE("crypto: SHA-256 and HMAC-SHA256 match published test vectors") {
  CHECK(crypto::toHex(crypto::sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  const std::string key = "Jefe", data = "what do ya want for nothing?";
  CHECK(crypto::toHex(crypto::hmacSha256(bytesOf(key), bytesOf(data))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(crypto::constantTimeEqual(bytesOf("same"), bytesOf("same")));
  CHECK_FALSE(crypto::constantTimeEqual(bytesOf("same"), bytesOf("sane")));
  CHECK_FALSE(crypto::constantTimeEqual(bytesOf("same"), bytesOf("samey")));
}

TEST_CASE("crypto: ECDSA P-256 keys sign, verify, and survive a PEM round trip") {
  const auto key = crypto::Key::generate();
  const std::string msg = "restart web";
  const auto sig = key.sign(bytesOf(msg));
  CHECK(key.verify(bytesOf(msg), sig));
  CHECK_FALSE(key.verify(bytesOf("restart db"), sig));
  auto pub = crypto::Key::fromPem(key.publicPem(), false);
  REQUIRE(pub.ok());
  CHECK(pub->verify(bytesOf(msg), sig));
  CHECK(pub->id() == key.id());
  auto priv = crypto::Key::fromPem(key.privatePem(), true);
  REQUIRE(priv.ok());
  CHECK(pub->verify(bytesOf(msg), priv->sign(bytesOf(msg))));
  CHECK_FALSE(crypto::Key::fromPem("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n", false).ok());
  CHECK_FALSE(crypto::Key::fromFile("/nonexistent/key.pem", false).ok());
  CHECK(crypto::Key::fromFile("/nonexistent/key.pem", false).error().message.find("/nonexistent/key.pem") !=
        std::string::npos);
  CHECK(crypto::randomBytes(16) != crypto::randomBytes(16));
}

TEST_CASE("command: a signed command verifies for its target and nothing else") {
  const auto key = crypto::Key::generate();
  const std::vector<crypto::Key> trusted = [&] {
    std::vector<crypto::Key> v;
    v.push_back(std::move(*crypto::Key::fromPem(key.publicPem(), false)));
    return v;
  }();
  const int64_t now = 1'700'000'000'000;
  const auto bytes = wire::buildSignedCommand(spec(now), key);
  auto ok = wire::verifyCommand(bytes, trusted, "n1", "eu", now);
  REQUIRE(ok.ok());
  CHECK(ok->epoch == 3);
  CHECK(ok->nonce.size() == 16);
  CHECK(std::get<wire::AutoRemediationAction>(ok->action).enabled == false);

  CHECK(wire::verifyCommand(bytes, trusted, "n2", "eu", now).error().message.find("node") != std::string::npos);
  CHECK(wire::verifyCommand(bytes, trusted, "n1", "us", now).error().message.find("region") != std::string::npos);
  CHECK(wire::verifyCommand(bytes, trusted, "n1", "eu", now + 61'000).error().message == "command expired");
  CHECK(wire::verifyCommand(bytes, trusted, "n1", "eu", now - 3'600'000).error().message.find("future") !=
        std::string::npos);

  // A region-wide command reaches every node of the region.
  const auto region_wide = wire::buildSignedCommand(spec(now, ""), key);
  CHECK(wire::verifyCommand(region_wide, trusted, "n7", "eu", now).ok());
}

TEST_CASE("command: forged, tampered and garbage commands are refused") {
  const auto key = crypto::Key::generate();
  std::vector<crypto::Key> trusted;
  trusted.push_back(std::move(*crypto::Key::fromPem(key.publicPem(), false)));
  const int64_t now = 1'700'000'000'000;

  const auto forged = wire::buildSignedCommand(spec(now), crypto::Key::generate());
  CHECK(wire::verifyCommand(forged, trusted, "n1", "eu", now).error().message.find("signature") != std::string::npos);

  const auto good = wire::buildSignedCommand(spec(now), key);
  const auto original = wire::verifyCommand(good, trusted, "n1", "eu", now);
  REQUIRE(original.ok());
  size_t accepted = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    auto bytes = good;
    bytes[i] ^= 0x01;
    auto flipped = wire::verifyCommand(bytes, trusted, "n1", "eu", now);
    if (!flipped.ok()) continue;
    // Only flips outside the signed bytes (the key id hint, padding) can pass,
    // and then the command still says exactly what was signed.
    ++accepted;
    CHECK(flipped->nonce == original->nonce);
    CHECK(flipped->epoch == original->epoch);
    CHECK(flipped->target_node == original->target_node);
    CHECK(flipped->expires_at_ms == original->expires_at_ms);
    CHECK(flipped->action.index() == original->action.index());
  }
  CHECK(accepted < good.size() / 4);

  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    std::vector<uint8_t> junk(rng() % 300);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    CHECK_FALSE(wire::verifyCommand(junk, trusted, "n1", "eu", now).ok());
  }
  CHECK_FALSE(wire::verifyCommand(good, {}, "n1", "eu", now).ok());  // no trusted key
}

TEST_CASE("command: during a key rotation either trusted key verifies") {
  const auto old_key = crypto::Key::generate();
  const auto new_key = crypto::Key::generate();
  std::vector<crypto::Key> trusted;
  trusted.push_back(std::move(*crypto::Key::fromPem(old_key.publicPem(), false)));
  trusted.push_back(std::move(*crypto::Key::fromPem(new_key.publicPem(), false)));
  const int64_t now = 1'700'000'000'000;
  CHECK(wire::verifyCommand(wire::buildSignedCommand(spec(now), old_key), trusted, "n1", "eu", now).ok());
  CHECK(wire::verifyCommand(wire::buildSignedCommand(spec(now), new_key), trusted, "n1", "eu", now).ok());
}
