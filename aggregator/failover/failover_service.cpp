#include "aggregator/failover/failover_service.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"
#include "shared/wire/command.h"

#include <fmt/format.h>

#include <algorithm>

namespace hale::aggregator::failover {
namespace {
// A retained command lives on the broker for agents that connect later, so it
// must stay valid: signed for 23 h (agents refuse more than 24 h) and re-signed
// with the same epoch every 6 h. Agents treat a same-epoch, same-region
// message as already applied.
constexpr int64_t kLifetimeMs = 23LL * 3600 * 1000;
constexpr int64_t kRefreshMs = 6LL * 3600 * 1000;
constexpr int64_t kRemediationRecentMs = 10LL * 60 * 1000;

std::optional<State> loadState(storage::Store& store) {
  const auto last = store.failoverDecisions().latest();
  if (!last) return std::nullopt;
  return State{last->to_region, last->epoch, last->at_ms};
}
}  // namespace

Service::Service(asio::io_context& io, storage::Store& store, std::vector<RegionPolicy> regions, const crypto::Key& key,
                 Sampler sampler, Publisher publisher, const Clock& clock)
    : io_(io), store_(store), key_(key), sampler_(std::move(sampler)), publisher_(std::move(publisher)), clock_(clock),
      timer_(io) {
  // Several samples per window so one odd sample does not decide a window alone.
  auto shortest = std::min_element(regions.begin(), regions.end(), [](const auto& a, const auto& b) {
                    return a.window < b.window;
                  })->window;
  tick_ = std::clamp(shortest / 4, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
  controller_ = std::make_unique<Controller>(std::move(regions), loadState(store_));
  failovers_ = store_.failoverDecisions().countChanges();
}

std::vector<std::string> Service::remediatingRegions(storage::Store& store, int64_t now_ms) {
  return store.remediations().regionsRemediating(now_ms - kRemediationRecentMs);
}

void Service::start() {
  log::info("failover", "starting",
            {{"active", state().active.empty() ? "-" : state().active}, {"epoch", std::to_string(state().epoch)}});
  tick(nowMs());
  schedule();
}

void Service::stop() { timer_.cancel(); }

void Service::schedule() {
  timer_.expires_after(tick_);
  timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    try {
      tick(nowMs());
    } catch (const std::exception& e) {
      log::error("failover", "evaluation failed", {{"error", e.what()}});
    }
    schedule();
  });
}

void Service::tick(int64_t now_ms) {
  const auto observations = sampler_ ? sampler_(now_ms) : std::vector<Observation>{};
  if (auto d = controller_->evaluate(now_ms, observations)) apply(*d);
  if (published_epoch_ != state().epoch || now_ms - published_at_ms_ >= kRefreshMs) publish(now_ms);
}

void Service::apply(const Decision& d) {
  store_.failoverDecisions().insert({d.epoch, d.at_ms, d.from, d.to, d.reason});
  if (!d.from.empty()) ++failovers_;
  log::warn("failover", "region role changed",
            {{"from", d.from.empty() ? "-" : d.from},
             {"to", d.to},
             {"epoch", std::to_string(d.epoch)},
             {"reason", d.reason}});
  if (listener_ && !d.from.empty()) {
    try {
      listener_(d);
    } catch (const std::exception& e) {
      log::error("failover", "decision listener failed", {{"error", e.what()}});
    }
  }
}

std::vector<uint8_t> Service::signedDecision(int64_t now_ms) const {
  wire::CommandSpec spec;
  spec.target_region = std::string(kGlobalRegion);
  spec.epoch = state().epoch;
  spec.issued_at_ms = now_ms;
  spec.expires_at_ms = now_ms + kLifetimeMs;
  spec.action = wire::RegionRoleAction{state().active, wire::RegionRole::Active};
  return wire::buildSignedCommand(std::move(spec), key_);
}

void Service::publish(int64_t now_ms) {
  if (state().active.empty()) return;
  const auto bytes = signedDecision(now_ms);
  if (!publisher_ || !publisher_(std::string(bytes.begin(), bytes.end()))) return;  // retried next tick
  published_epoch_ = state().epoch;
  published_at_ms_ = now_ms;
  log::info("failover", "decision published", {{"active", state().active}, {"epoch", std::to_string(state().epoch)}});
}

Service::Promotion Service::promote(const std::string& region) {
  const auto& policies = regions();
  if (std::none_of(policies.begin(), policies.end(), [&](const RegionPolicy& p) { return p.name == region; }))
    return {Promotion::Outcome::UnknownRegion, {}};
  const int64_t now = nowMs();
  auto d = controller_->promote(region, now, "manual");
  if (!d) return {Promotion::Outcome::AlreadyActive, {}};
  apply(*d);
  publish(now);
  return {Promotion::Outcome::Promoted, *d};
}

void Service::appendMetrics(std::string& out) const {
  out +=
      "# HELP hale_region_active 1 for the region failover made active, 0 for the others.\n"
      "# TYPE hale_region_active gauge\n";
  for (const auto& r : controller_->regions())
    out += fmt::format("hale_region_active{{region=\"{}\"}} {}\n", r.name, r.name == state().active ? 1 : 0);
  out += fmt::format(
      "# HELP hale_failover_total Changes of the active region (failovers, failbacks, manual promotions).\n"
      "# TYPE hale_failover_total counter\nhale_failover_total {}\n"
      "# HELP hale_failover_epoch Epoch of the current failover decision.\n"
      "# TYPE hale_failover_epoch gauge\nhale_failover_epoch {}\n",
      failovers_, state().epoch);
}

}  // namespace hale::aggregator::failover
