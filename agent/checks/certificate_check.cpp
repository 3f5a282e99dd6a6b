// certificate: expiry and validity of X.509 certificates, read from a local
// file (PEM or DER, bundles included: every certificate counts and the one
// expiring first wins) or fetched from a TLS endpoint through a handshake with
// the check's timeout as deadline. Also reports a certificate that is not yet
// valid, a host name it does not cover, a chain the configured CA bundle does
// not trust, and a private key that does not belong to it.
//
//   [[check]]
//   name = "api-cert"
//   kind = "certificate"
//   endpoint = "api.example.com:443"     # or: file = "/etc/ssl/private/site.pem"
//   server_name = "api.example.com"      # SNI; default: the endpoint's host
//   ca_file = "/etc/ssl/certs/ca-certificates.crt"
//   warn_days = 30
//   crit_days = 7
//   interval = "1h"
#include "agent/checks/cert_inspect.h"
#include "agent/checks/check.h"
#include "agent/checks/deadline.h"
#include "agent/platform/file_read.h"
#include "shared/net/net.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"file", config::FieldType::String, "", "local certificate file: PEM or DER, one certificate or a bundle"},
    {"endpoint", config::FieldType::String, "", "remote TLS endpoint host:port (TLS 1.2 handshake, SNI)"},
    {"server_name", config::FieldType::String, "", "SNI name sent to the endpoint (default: its host)"},
    {"expect_hostname", config::FieldType::String, "",
     "host name the leaf must cover (default for an endpoint: server_name or its host unless an IP)"},
    {"ca_file", config::FieldType::String, "", "PEM bundle of trust anchors; when set, the chain must verify"},
    {"key_file", config::FieldType::String, "",
     "private key (PEM or DER, unencrypted) that must match a local file's leaf"},
    {"warn_days", config::FieldType::Float, "30", "fewer days to expiry than this warns"},
    {"crit_days", config::FieldType::Float, "7", "fewer days to expiry than this is critical"},
};

class CertificateCheck final : public Check {
 public:
  CertificateCheck(CommonSettings common, const config::Fields& f, const Clock& clock)
      : Check(std::move(common)), clock_(clock), file_(f.optStr("file")),
        server_name_(f.optStr("server_name").value_or("")), ca_file_(f.optStr("ca_file")),
        key_file_(f.optStr("key_file")), warn_days_(f.number("warn_days")), crit_days_(f.number("crit_days")) {
    const auto endpoint = f.optStr("endpoint");
    if (file_.has_value() == endpoint.has_value()) f.fail("file", "give exactly one of file, endpoint");
    if (endpoint) {
      auto hp = net::splitHostPort(*endpoint);
      if (!hp) f.fail("endpoint", hp.error().message);
      host_ = hp->first;
      port_ = hp->second;
      if (key_file_) f.fail("key_file", "only applies to a local file, not to an endpoint");
    } else if (f.has("server_name")) {
      f.fail("server_name", "only applies to an endpoint");
    }
    if (crit_days_ > warn_days_) f.fail("crit_days", fmt::format("must not exceed warn_days ({})", warn_days_));
    config::requireReadableFile(f, "ca_file");
    expect_hostname_ = f.optStr("expect_hostname");
    if (!expect_hostname_ && endpoint) {
      const std::string name = server_name_.empty() ? host_ : server_name_;
      if (!net::isIpLiteral(name)) expect_hostname_ = name;
    }
    if (ca_file_) {
      auto bytes = platform::readFileCapped(*ca_file_);
      if (!bytes) f.fail("ca_file", bytes.error().message);
      auto parsed = cert::Chain::parse(asBytes(*bytes), /*skip_bad_blocks=*/true);
      if (!parsed) f.fail("ca_file", "no usable CA certificate: " + parsed.error().message);
      trusted_ = std::move(parsed).value();
    }
  }

  bool blocking() const override { return true; }  // file reads and TLS handshakes

  Outcome run() override {
    const auto started = std::chrono::steady_clock::now();
    auto chain = file_ ? loadFile() : fetchRemote(ownDeadline(common(), started));
    if (!chain) return Outcome{remote() ? CheckStatus::Unknown : CheckStatus::Crit, target() + ": " + chain.error().message, {}};
    Outcome out = judge(*chain);
    if (remote())
      out.metric("handshake_ms",
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    return out;
  }

 private:
  static std::span<const uint8_t> asBytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }
  bool remote() const { return !file_.has_value(); }
  std::string target() const { return file_ ? *file_ : fmt::format("{}:{}", host_, port_); }

  Result<cert::Chain> loadFile() const {
    auto bytes = platform::readFileCapped(*file_);
    if (!bytes) return bytes.error();
    return cert::Chain::parse(asBytes(*bytes));
  }

  Result<cert::Chain> fetchRemote(net::Deadline deadline) const {
    net::TlsOptions options;
    options.server_name = server_name_;
    auto session = net::TlsSession::connect(host_, port_, options, deadline);
    if (!session) return session.error();
    return cert::Chain::fromDerList((*session)->peerChainDer());
  }

  // Every finding is listed; the status is the worst of them.
  Outcome judge(const cert::Chain& chain) const {
    const auto now = clock_.wallNow();
    const auto& first = chain.earliestExpiry();
    const double days_left = cert::daysBetween(now, first.not_after);
    Outcome out;
    out.metric("days_left", days_left)
        .metric("chain_length", static_cast<double>(chain.size()))
        .metric("not_after_unix", static_cast<double>(toUnixMillis(first.not_after) / 1000));
    std::vector<std::string> findings;
    auto add = [&](CheckStatus s, std::string text) {
      out.status = std::max(out.status, s);
      findings.push_back(std::move(text));
    };
    if (days_left < 0) {
      add(CheckStatus::Crit, fmt::format("{} expired on {}", first.subject, cert::formatTime(first.not_after)));
    } else {
      const CheckStatus s = days_left < crit_days_ ? CheckStatus::Crit : days_left < warn_days_ ? CheckStatus::Warn : CheckStatus::Ok;
      add(s,
          fmt::format("{} expires in {:.1f} days ({})", first.subject, days_left, cert::formatTime(first.not_after)));
    }
    const auto& latest = chain.latestStart();
    if (latest.not_before > now)
      add(CheckStatus::Crit, fmt::format("{} not valid before {}", latest.subject, cert::formatTime(latest.not_before)));
    if (expect_hostname_) {
      const bool ok = chain.matchesHost(*expect_hostname_);
      out.metric("hostname_ok", ok ? 1 : 0);
      if (!ok) add(CheckStatus::Crit, fmt::format("does not cover host name '{}'", *expect_hostname_));
    }
    if (trusted_) {
      auto why = chain.verifyTrust(*trusted_);
      const bool ok = why && why->empty();
      out.metric("trusted", ok ? 1 : 0);
      if (!ok) add(CheckStatus::Crit, fmt::format("not trusted by {}: {}", *ca_file_, why ? *why : why.error().message));
    }
    if (key_file_) {
      auto key = platform::readFileCapped(*key_file_);
      auto match = key ? chain.matchesKey(asBytes(*key)) : Result<bool>(key.error());
      out.metric("key_matches", match && *match ? 1 : 0);
      if (!match)
        add(CheckStatus::Crit, "key_file: " + match.error().message);
      else if (!*match)
        add(CheckStatus::Crit, fmt::format("private key {} does not match the certificate", *key_file_));
    }
    out.message = target() + ": ";
    for (size_t i = 0; i < findings.size(); ++i) out.message += (i ? "; " : "") + findings[i];
    return out;
  }

  const Clock& clock_;
  std::optional<std::string> file_;
  std::string host_;
  uint16_t port_ = 0;
  std::string server_name_;
  std::optional<std::string> expect_hostname_, ca_file_, key_file_;
  std::optional<cert::Chain> trusted_;
  double warn_days_, crit_days_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv& env) {
  return std::make_unique<CertificateCheck>(std::move(common), fields, env.clock);
}

}  // namespace

extern const CheckKind kCertificateCheck;
const CheckKind kCertificateCheck{"certificate", "expiry, validity, host name, trust and key of a TLS certificate",
                                  kFields, Component::Security, &make};

}  // namespace hale::agent::checks
