// notify: a webhook POST with a JSON body, signed with
// X-Hale-Signature: sha256=<hex HMAC-SHA256 of the body>. Runs only when
// remediation failed or a budget is spent, so people are paged for what Hale
// could not fix. Plain http:// (a local relay or sidecar terminates TLS).
//
//   [[check.remedy]]
//   action = "notify"
//   url = "http://127.0.0.1:9000/hale"
//   secret_env = "HALE_WEBHOOK_SECRET"   # or secret_file = "/etc/hale/webhook.key"
#include "agent/remedies/remedy.h"
#include "shared/crypto/crypto.h"
#include "shared/net/net.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hale::agent::remedies {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"url", config::FieldType::String, "", "http://host:port/path of the webhook", true},
    {"secret_file", config::FieldType::String, "", "file holding the HMAC secret"},
    {"secret_env", config::FieldType::String, "", "environment variable holding the HMAC secret"},
    {"timeout", config::FieldType::Duration, "5s", "give up after this"},
};

struct Url {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
};

std::optional<Url> parseUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  std::string rest = url.substr(kScheme.size());
  Url u;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    u.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    const int port = std::atoi(rest.c_str() + colon + 1);
    if (port <= 0 || port > 65535) return std::nullopt;
    u.port = static_cast<uint16_t>(port);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return std::nullopt;
  u.host = rest;
  return u;
}

class NotifyAction final : public Action {
 public:
  explicit NotifyAction(const config::Fields& f)
      : url_text_(f.str("url")), secret_file_(f.optStr("secret_file").value_or("")),
        secret_env_(f.optStr("secret_env").value_or("")), timeout_(f.duration("timeout")) {
    auto u = parseUrl(url_text_);
    if (!u) f.fail("url", "expected http://host[:port]/path");
    url_ = *u;
    if (secret_file_.empty() == secret_env_.empty()) f.fail("url", "give exactly one of secret_file, secret_env");
  }

  ActionResult execute(const ActionContext& ctx) override {
    ActionResult r;
    r.argv = {"POST", url_text_};
    const std::string secret = readSecret();
    if (secret.empty()) {
      r.detail = "no webhook secret (secret_file or secret_env is empty)";
      return r;
    }
    const std::string body = nlohmann::json{
        {"check", ctx.check},           {"check_kind", ctx.check_kind}, {"issue_id", ctx.issue_id},
        {"attempt_id", ctx.attempt_id}, {"status", ctx.status},         {"message", ctx.message},
        {"reason", ctx.reason}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const auto mac = crypto::hmacSha256({reinterpret_cast<const uint8_t*>(secret.data()), secret.size()},
                                        {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
    const std::string request = fmt::format(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
        "X-Hale-Signature: sha256={}\r\nConnection: close\r\n\r\n{}",
        url_.path, url_.host, url_.port, body.size(), crypto::toHex(mac), body);
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    auto sock = net::connectTcp(url_.host, url_.port, deadline);
    if (!sock) return failed(r, sock.error().message);
    if (auto sent = net::sendAll(*sock, request, deadline); !sent) return failed(r, sent.error().message);
    std::string response;
    char buf[1024];
    while (response.find("\r\n") == std::string::npos) {
      auto n = net::recvSome(*sock, buf, sizeof buf, deadline);
      if (!n || *n == 0) break;
      response.append(buf, *n);
    }
    const int status = response.rfind("HTTP/1.", 0) == 0 && response.size() > 12 ? std::atoi(response.c_str() + 9) : 0;
    r.exit_code = status;
    r.ok = status >= 200 && status < 300;
    r.detail = status ? fmt::format("webhook answered {}", status) : "no HTTP response";
    return r;
  }
  std::string resource() const override { return "notify:" + url_text_; }
  std::string describe() const override { return "POST " + url_text_; }

 private:
  static ActionResult failed(ActionResult& r, const std::string& why) {
    r.detail = "webhook: " + why;
    return r;
  }
  std::string readSecret() const {
    if (!secret_env_.empty()) {
      const char* v = std::getenv(secret_env_.c_str());
      return v ? v : "";
    }
    std::ifstream in(secret_file_);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }

  std::string url_text_;
  Url url_;
  std::string secret_file_, secret_env_;
  Millis timeout_;
};

ActionPtr make(const config::Fields& fields, const ActionEnv&) { return std::make_unique<NotifyAction>(fields); }

}  // namespace

extern const ActionKind kNotifyAction;
const ActionKind kNotifyAction{"notify", "signed webhook POST when remediation failed or the budget is spent", kFields,
                               &make};

}  // namespace hale::agent::remedies
