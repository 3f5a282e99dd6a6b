// tcp_probe: whether a TCP endpoint accepts connections within the timeout,
// with the connect latency's p50/p95/p99 over a sliding window and an optional
// SLO on them.
//
//   [[check]]
//   name = "db-port"
//   kind = "tcp_probe"
//   endpoint = "db.internal:5432"
//   timeout = "2s"
//   window = "5m"
//   slo_p95_ms = 50
#include "agent/checks/check.h"
#include "agent/checks/deadline.h"
#include "agent/checks/probe_window.h"
#include "shared/net/net.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

constexpr auto kFields = withProbeWindowFields(std::array<config::FieldSpec, 1>{{
    {"endpoint", config::FieldType::String, "", "host:port to connect to", true},
}});

class TcpProbeCheck final : public Check {
 public:
  TcpProbeCheck(CommonSettings common, const config::Fields& f, const Clock& clock)
      : Check(std::move(common)), clock_(clock), slo_(SloRule::read(f)), window_(f.duration("window")) {
    auto hp = net::splitHostPort(f.str("endpoint"));
    if (!hp) f.fail("endpoint", hp.error().message);
    host_ = hp->first;
    port_ = hp->second;
  }

  bool blocking() const override { return true; }  // name resolution and connect

  Outcome run() override {
    const auto t0 = std::chrono::steady_clock::now();
    auto sock = net::connectTcp(host_, port_, ownDeadline(common(), t0));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    Outcome out;
    if (sock) {
      out.message = fmt::format("{}:{} connected in {:.1f} ms", host_, port_, ms);
    } else {
      out.status = CheckStatus::Crit;
      out.message = sock.error().message;
    }
    recordProbe(out, window_, slo_, clock_.monoNow(), ms, sock.ok());
    return out;
  }

 private:
  const Clock& clock_;
  std::string host_;
  uint16_t port_ = 0;
  SloRule slo_;
  LatencyWindow window_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv& env) {
  return std::make_unique<TcpProbeCheck>(std::move(common), fields, env.clock);
}

}  // namespace

extern const CheckKind kTcpProbeCheck;
const CheckKind kTcpProbeCheck{"tcp_probe", "TCP connect to host:port, latency percentiles and SLO", kFields,
                               Component::Network, &make};

}  // namespace hale::agent::checks
