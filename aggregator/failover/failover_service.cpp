#include "aggregator/failover/failover_service.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"
#include "shared/wire/command.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace hale::aggregator::failover {
namespace {
using nlohmann::json;

// A retained command lives on the broker for agents that connect later, so it
// must stay valid: signed for 23 h (agents refuse more than 24 h) and re-signed
// with the same epoch every 6 h. Agents treat a same-epoch, same-region
// message as already applied.
constexpr int64_t kLifetimeMs = 23LL * 3600 * 1000;
constexpr int64_t kRefreshMs = 6LL * 3600 * 1000;
constexpr int64_t kRemediationRecentMs = 10LL * 60 * 1000;

std::optional<State> loadState(storage::Store& store) {
  sqlite::Statement s(store.db(), "SELECT epoch, at_ms, to_region FROM failover_decisions ORDER BY epoch DESC LIMIT 1");
  if (!s.step()) return std::nullopt;
  return State{s.text(2), static_cast<uint64_t>(s.int64(0)), s.int64(1)};
}

int64_t countFailovers(storage::Store& store) {
  sqlite::Statement s(store.db(), "SELECT count(*) FROM failover_decisions WHERE from_region != ''");
  return s.step() ? s.int64(0) : 0;
}
}  // namespace

Service::Service(asio::io_context& io, storage::Store& store, std::vector<RegionPolicy> regions, const crypto::Key& key,
                 Sampler sampler, Publisher publisher)
    : io_(io), store_(store), key_(key), sampler_(std::move(sampler)), publisher_(std::move(publisher)), timer_(io) {
  // Several samples per window so one odd sample does not decide a window alone.
  auto shortest = std::min_element(regions.begin(), regions.end(), [](const auto& a, const auto& b) {
                    return a.window < b.window;
                  })->window;
  tick_ = std::clamp(shortest / 4, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
  controller_ = std::make_unique<Controller>(std::move(regions), loadState(store_));
  failovers_ = countFailovers(store_);
}

std::vector<std::string> Service::remediatingRegions(storage::Store& store, int64_t now_ms) {
  sqlite::Statement s(store.db(), R"sql(
SELECT DISTINCT n.region FROM remediations r JOIN nodes n ON n.node = r.node
WHERE r.at_ms > ?1 AND r.outcome IN ('Fired', 'Approved', 'Executed')
  AND NOT EXISTS (SELECT 1 FROM remediations later
                  WHERE later.node = r.node AND later.attempt_id = r.attempt_id AND later.seq > r.seq)
)sql");
  s.with(now_ms - kRemediationRecentMs);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

void Service::start() {
  log::info("failover", "starting",
            {{"active", state().active.empty() ? "-" : state().active}, {"epoch", std::to_string(state().epoch)}});
  tick(unixMillisNow());
  schedule();
}

void Service::stop() { timer_.cancel(); }

void Service::schedule() {
  timer_.expires_after(tick_);
  timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    try {
      tick(unixMillisNow());
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
  sqlite::Statement insert(store_.db(),
                           "INSERT INTO failover_decisions(epoch, at_ms, from_region, to_region, reason) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)");
  insert.with(d.epoch, d.at_ms, d.from, d.to, d.reason).run();
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

api::ExtraRoutes Service::routes() {
  return api::ExtraRoutes{"/api/v1/failover",
                          [this](const api::Query& q, const api::Request& r) { return handle(q, r); },
                          [this](std::string& out) { appendMetrics(out); }};
}

api::Response Service::handle(const api::Query& q, const api::Request& request) {
  const bool read = request.method == "GET" || request.method == "HEAD";
  if (q.path == "/api/v1/failover") {
    if (!read) return api::errorResponse(405, "use GET");
    json regions = json::array();
    for (const auto& r : controller_->regions())
      regions.push_back({{"name", r.name},
                         {"priority", r.priority},
                         {"active", r.name == state().active},
                         {"threshold", r.threshold},
                         {"windows", r.windows},
                         {"window_ms", r.window.count()},
                         {"bad_windows", controller_->badStreak(r.name)},
                         {"min_dwell_ms", r.min_dwell.count()},
                         {"failback", std::string(failbackName(r.failback))},
                         {"failback_after_ms", r.failback_after.count()},
                         {"hold_while_remediating", r.hold_while_remediating}});
    json history = json::array();
    sqlite::Statement s(store_.db(),
                        "SELECT epoch, at_ms, from_region, to_region, reason FROM failover_decisions "
                        "ORDER BY epoch DESC LIMIT 100");
    while (s.step())
      history.push_back({{"epoch", s.int64(0)},
                         {"at_ms", s.int64(1)},
                         {"from", s.text(2).empty() ? json(nullptr) : json(s.text(2))},
                         {"to", s.text(3)},
                         {"reason", s.text(4)}});
    return api::jsonResponse(200, json{{"active", state().active.empty() ? json(nullptr) : json(state().active)},
                                       {"epoch", state().epoch},
                                       {"since_ms", state().since_ms},
                                       {"published_epoch", published_epoch_},
                                       {"failovers", failovers_},
                                       {"regions", regions},
                                       {"history", history}});
  }
  if (q.path == "/api/v1/failover/promote") {
    if (request.method != "POST") return api::errorResponse(405, "use POST");
    if (request.body.size() > 64 * 1024) return api::errorResponse(413, "request body over 64 KiB");
    const json body = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
    if (!body.is_object() || !body.contains("region") || !body["region"].is_string())
      return api::errorResponse(400, "body needs \"region\": the region to make active");
    const std::string region = body["region"];
    const bool known = std::any_of(controller_->regions().begin(), controller_->regions().end(),
                                   [&](const RegionPolicy& p) { return p.name == region; });
    if (!known) return api::errorResponse(404, fmt::format("no configured region '{}'", region.substr(0, 64)));
    const int64_t now = unixMillisNow();
    auto d = controller_->promote(region, now, "manual");
    if (!d) return api::errorResponse(409, fmt::format("region '{}' is already active", region));
    apply(*d);
    publish(now);
    return api::jsonResponse(200, json{{"active", d->to}, {"from", d->from}, {"epoch", d->epoch}});
  }
  return api::errorResponse(404, fmt::format("no such resource: {}", q.path.substr(0, 200)));
}

void Service::appendMetrics(std::string& out) {
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
