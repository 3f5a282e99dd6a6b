// http_probe: an HTTP(S) GET that must answer with the expected status (and,
// optionally, a body containing some text) within the timeout, with latency
// p50/p95/p99 over a sliding window and an optional SLO on them. HTTPS goes
// through the same mbedTLS client as the certificate check and verifies the
// server against the system bundle or `ca_file` unless `tls_verify = false`.
//
//   [[check]]
//   name = "api-health"
//   kind = "http_probe"
//   url = "https://api.example.com/healthz"
//   expect_status = 200
//   timeout = "3s"
//   window = "5m"
//   slo_p95_ms = 200
#include "agent/checks/check.h"
#include "agent/checks/deadline.h"
#include "agent/checks/probe_window.h"
#include "shared/net/http_client.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

constexpr auto kFields = withProbeWindowFields(std::array<config::FieldSpec, 5>{{
    {"url", config::FieldType::String, "", "http:// or https:// URL to GET", true},
    {"expect_status", config::FieldType::Integer, "200", "HTTP status the response must carry"},
    {"body_contains", config::FieldType::String, "", "text the response body must contain"},
    {"tls_verify", config::FieldType::Bool, "true", "verify the server's chain and host name (https)"},
    {"ca_file", config::FieldType::String, "", "trust anchors for https (default: the system bundle)"},
}});

class HttpProbeCheck final : public Check {
 public:
  HttpProbeCheck(CommonSettings common, const config::Fields& f, const Clock& clock)
      : Check(std::move(common)), clock_(clock), expect_status_(f.integer("expect_status")),
        body_contains_(f.optStr("body_contains")), slo_(SloRule::read(f)), window_(f.duration("window")) {
    auto url = net::parseUrl(f.str("url"));
    if (!url) f.fail("url", url.error().message);
    url_ = std::move(url).value();
    url_text_ = f.str("url");
    if (expect_status_ < 100 || expect_status_ > 599) f.fail("expect_status", "expected 100..599");
    config::requireReadableFile(f, "ca_file");
    if (url_.https && f.boolean("tls_verify")) {
      // Loaded once here, not per run: parsing the system bundle costs milliseconds.
      const auto ca_file = f.optStr("ca_file");
      auto trust = net::TlsTrust::load(ca_file.value_or(net::TlsTrust::kSystemBundle));
      if (!trust)
        f.fail(ca_file ? "ca_file" : "tls_verify", trust.error().message + " (set ca_file, or tls_verify = false)");
      tls_.verify_with = std::move(trust).value();
    }
  }

  bool blocking() const override { return true; }  // connect, TLS handshake, read

  Outcome run() override {
    const auto t0 = std::chrono::steady_clock::now();
    auto response = net::httpGet(url_, tls_, ownDeadline(common(), t0));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    Outcome out;
    bool ok = false;
    if (!response) {
      out.status = CheckStatus::Crit;
      out.message = fmt::format("GET {}: {}", url_text_, response.error().message);
    } else {
      out.metric("status_code", response->status);
      ok = response->status == expect_status_;
      out.message = fmt::format("GET {}: {} in {:.1f} ms", url_text_, response->status, ms);
      if (!ok) out.message += fmt::format(", expected {}", expect_status_);
      if (ok && body_contains_ && response->body.find(*body_contains_) == std::string::npos) {
        ok = false;
        out.message += fmt::format(", body lacks \"{}\"", *body_contains_);
      }
      if (!ok) out.status = CheckStatus::Crit;
    }
    recordProbe(out, window_, slo_, clock_.monoNow(), ms, ok);
    return out;
  }

 private:
  const Clock& clock_;
  net::Url url_;
  std::string url_text_;
  net::TlsOptions tls_;
  int64_t expect_status_;
  std::optional<std::string> body_contains_;
  SloRule slo_;
  LatencyWindow window_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv& env) {
  return std::make_unique<HttpProbeCheck>(std::move(common), fields, env.clock);
}

}  // namespace

extern const CheckKind kHttpProbeCheck;
const CheckKind kHttpProbeCheck{"http_probe", "HTTP(S) GET: status, body text, latency percentiles and SLO", kFields,
                                Component::Network, &make};

}  // namespace hale::agent::checks
