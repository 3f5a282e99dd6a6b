#pragma once
// The running aggregator: MQTT ingest, SQLite, HTTP API, all on one io_context.
#include "aggregator/api/api.h"
#include "aggregator/api/http_server.h"
#include "aggregator/core/aggregator_config.h"
#include "aggregator/failover/failover_service.h"
#include "aggregator/health/score_cache.h"
#include "aggregator/health/snapshots.h"
#include "aggregator/ingest/ingestor.h"
#include "aggregator/notify/notifier.h"
#include "aggregator/storage/store.h"
#include "shared/crypto/crypto.h"
#include "shared/mqtt/client.h"

#include <optional>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <memory>

namespace hale::aggregator {

class Aggregator {
 public:
  /// Opens the database (refusing a damaged one: storage::StorageError,
  /// Kind::Damaged), binds the HTTP port and builds every part; run() starts them.
  explicit Aggregator(AggregatorConfig config);
  ~Aggregator();
  /// Runs until SIGINT or SIGTERM; returns the exit code.
  int run();

  /// Extra hook for region failover, besides notifier().regionFailover(), which
  /// is always called: on the I/O thread each time the active region changes
  /// (failover, auto failback, manual promotion), after the decision is stored.
  std::function<void(const failover::Decision&)> on_region_failover;
  /// Outgoing notifications; the failover logic calls notifier().regionFailover().
  notify::Notifier& notifier() { return notifier_; }

 private:
  Status publishCommand(const wire::CommandSpec& spec);
  std::unique_ptr<failover::Service> makeFailover();
  api::ApiOptions apiOptions();
  std::vector<failover::Observation> failoverSample(int64_t now_ms);

  void scheduleSnapshot();

  asio::io_context io_;
  AggregatorConfig cfg_;
  const Clock& clock_ = RealClock::instance();
  storage::Store store_;
  ingest::Ingestor ingestor_;
  health::SnapshotCounters snapshot_counters_;
  std::unique_ptr<health::ScoreCache> score_cache_;  ///< before api_, which reads it
  notify::Notifier notifier_;                        ///< before api_, whose /metrics reads it
  std::optional<crypto::Key> signing_key_;           ///< signs commands and failover decisions
  std::unique_ptr<failover::Service> failover_;      ///< when [[region]] is configured; before api_
  api::Api api_;
  std::unique_ptr<api::HttpServer> http_;
  std::unique_ptr<mqtt::Client> mqtt_;
  asio::signal_set signals_;
  asio::steady_timer snapshot_timer_;
};

}  // namespace hale::aggregator
