#include "aggregator/notify/delivery.h"

#include "shared/crypto/crypto.h"

#include <fmt/format.h>

#include <chrono>

namespace hale::aggregator::notify {
namespace {
constexpr size_t kMaxAnswerBytes = 64 * 1024;
}  // namespace

Status deliver(const Target& t, const std::string& body) {
  net::HttpRequest req;
  req.method = "POST";
  req.body = body;
  req.headers = {{"Content-Type", "application/json"}};
  if (t.secret) req.headers.emplace_back("X-Hale-Signature-256", "sha256=" + crypto::hmacSha256Hex(*t.secret, body));
  net::TlsOptions tls;
  if (t.url.https) {
    auto trust = net::TlsTrust::load(t.ca_file);
    if (!trust) return trust.error();
    tls.verify_with = *trust;
  }
  // A socket deadline, on the real clock: it bounds real I/O.
  auto answer = net::httpRequest(t.url, req, tls, std::chrono::steady_clock::now() + t.timeout, kMaxAnswerBytes);
  if (!answer) return answer.error();
  if (answer->status < 200 || answer->status > 299) return Error{fmt::format("HTTP {}", answer->status)};
  return {};
}

}  // namespace hale::aggregator::notify
