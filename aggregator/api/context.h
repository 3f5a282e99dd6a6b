#pragma once
// What route handlers reach: the store, the ingest counters, the options the
// aggregator configured and the API's own state (write rate limit, webhook
// counters). Handlers run on the I/O thread only.
#include "aggregator/api/http_types.h"
#include "aggregator/health/health.h"
#include "aggregator/health/score_cache.h"
#include "aggregator/health/snapshots.h"
#include "aggregator/ingest/ingestor.h"
#include "aggregator/storage/store.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "shared/util/clock.h"
#include "shared/util/pacer.h"
#include "shared/util/result.h"
#include "shared/wire/command.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace hale::aggregator::failover {
class Service;
}

namespace hale::aggregator::api {

struct ApiOptions {
  health::Params health;
  /// When set, every read but /health, /ready and the dashboard page needs
  /// "Authorization: Bearer <token>".
  std::optional<std::string> read_token;
  const health::SnapshotCounters* snapshot_counters = nullptr;
  /// Writes (POST) need this token; unset: writes answer 403.
  std::optional<std::string> write_token;
  /// Signs and publishes a command; unset when the aggregator has no signing key or broker.
  std::function<Status(const wire::CommandSpec&)> send_command;
  uint64_t command_epoch = 1;
  std::chrono::milliseconds command_ttl{std::chrono::minutes(5)};
  /// Scores computed off the request path; unset: every read scores inline (tests).
  const health::ScoreCache* score_cache = nullptr;
  /// Older cached scores than this are not served (the worker is stuck or slow).
  std::chrono::milliseconds score_max_age{std::chrono::seconds(5)};
  /// Incoming CI webhooks (webhook_routes.cpp); each unset secret turns its endpoint off.
  webhooks::Secrets webhooks = {};
  /// Appends more series to /metrics (the notifier's queue and counters).
  std::function<void(std::string&)> extra_metrics = {};
  /// Region failover ([[region]]); unset: /api/v1/failover answers 404.
  failover::Service* failover = nullptr;
  /// Time of every handler and of the write rate limit (tests pass a FakeClock).
  const Clock* clock = &RealClock::instance();
};

struct WebhookCounters {
  uint64_t accepted = 0, duplicate = 0, ignored = 0, rejected = 0, malformed = 0, too_large = 0;
};

struct ApiContext {
  using ReadyFn = std::function<bool()>;
  ApiContext(storage::Store& store, const ingest::Counters& counters, ReadyFn ready, ApiOptions options);

  int64_t nowMs() const { return toUnixMillis(clock.wallNow()); }
  /// The latest cached scoring, or one computed now when there is none fresh enough.
  std::shared_ptr<const health::ScoredFleet> currentHealth(int64_t now_ms);

  storage::Store& store;
  const ingest::Counters& counters;
  ReadyFn ready;
  ApiOptions options;
  const Clock& clock;
  Pacer write_limit;                                        ///< 20 writes at once, 5 per second after
  std::map<std::string, WebhookCounters> webhook_counters;  ///< by source
};

}  // namespace hale::aggregator::api
