#pragma once
// Runs the failover Controller inside the aggregator: samples region scores
// on a timer, persists every decision (failover_decisions: the epoch survives
// a restart), publishes the active region as a signed, retained SetRegionRole
// command on hale/v1/global/failover, and appends the hale_region_active /
// hale_failover_total series to /metrics. The API shows it and lets an
// operator promote a region (api/failover_routes.cpp).
#include "aggregator/failover/controller.h"
#include "aggregator/storage/store.h"
#include "shared/crypto/crypto.h"
#include "shared/util/clock.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <functional>
#include <memory>

namespace hale::aggregator::failover {

/// The region the failover command is addressed to: every agent verifies it as such.
inline constexpr std::string_view kGlobalRegion = "global";

class Service {
 public:
  /// Region scores and remediation flags at `now_ms` (from the score cache and the store).
  using Sampler = std::function<std::vector<Observation>(int64_t now_ms)>;
  /// Publishes a payload retained on hale/v1/global/failover; false when it cannot now (not connected).
  using Publisher = std::function<bool(const std::string& payload)>;
  /// Hook for notifications (Notifier::regionFailover): called on the I/O thread after a
  /// decision is stored, for every change of the active region (not the initial choice).
  using Listener = std::function<void(const Decision&)>;

  Service(asio::io_context& io, storage::Store& store, std::vector<RegionPolicy> regions, const crypto::Key& key,
          Sampler sampler, Publisher publisher, const Clock& clock = RealClock::instance());

  void start();
  void stop();
  void onDecision(Listener listener) { listener_ = std::move(listener); }

  /// Builds the signed command for the current state (issued now).
  std::vector<uint8_t> signedDecision(int64_t now_ms) const;
  /// The broker did not take the last publication: publish again on the next tick.
  void republish() { published_epoch_ = 0; }
  /// Runs one evaluation (the timer calls it; tests may too).
  void tick(int64_t now_ms);

  struct Promotion {
    enum class Outcome { Promoted, UnknownRegion, AlreadyActive } outcome;
    Decision decision;  ///< when promoted
  };
  /// An operator makes `region` active now; the decision is stored and published.
  Promotion promote(const std::string& region);

  const State& state() const { return controller_->state(); }
  const std::vector<RegionPolicy>& regions() const { return controller_->regions(); }
  int badStreak(const std::string& region) const { return controller_->badStreak(region); }
  /// Epoch of the last publication the broker took; 0 before the first.
  uint64_t publishedEpoch() const { return published_epoch_; }
  /// Changes of the active region so far (failovers, failbacks, promotions).
  int64_t failovers() const { return failovers_; }
  /// The newest `limit` decisions, newest first.
  std::vector<storage::FailoverDecisionRow> history(size_t limit) { return store_.failoverDecisions().history(limit); }
  /// Prometheus text for /metrics.
  void appendMetrics(std::string& out) const;

  /// Regions with a remediation in progress (latest event of an attempt is Fired,
  /// Approved or Executed, within the last 10 minutes).
  static std::vector<std::string> remediatingRegions(storage::Store& store, int64_t now_ms);

 private:
  void apply(const Decision& d);
  void publish(int64_t now_ms);
  void schedule();
  int64_t nowMs() const { return toUnixMillis(clock_.wallNow()); }

  asio::io_context& io_;
  storage::Store& store_;
  const crypto::Key& key_;
  Sampler sampler_;
  Publisher publisher_;
  const Clock& clock_;
  Listener listener_;
  std::unique_ptr<Controller> controller_;
  asio::steady_timer timer_;
  std::chrono::milliseconds tick_;
  uint64_t published_epoch_ = 0;  ///< 0: not yet published by this process
  int64_t published_at_ms_ = 0;
  int64_t failovers_ = 0;
};

}  // namespace hale::aggregator::failover
