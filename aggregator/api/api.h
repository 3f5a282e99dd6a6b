#pragma once
// The HTTP API as plain functions of (method, target) -> response, so routing
// and rendering are unit-tested and fuzzed without a socket; http_server.cpp
// only moves bytes between RESTinio and this.
#include "aggregator/health/health.h"
#include "aggregator/health/score_cache.h"
#include "aggregator/health/snapshots.h"
#include "aggregator/ingest/ingestor.h"
#include "aggregator/storage/store.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "shared/wire/command.h"

#include <chrono>

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hale::aggregator::api {

struct Request {
  std::string method;
  std::string target;  ///< path and query, as received
  std::string body;
  std::string authorization = {};  ///< the Authorization header, if any
  /// The few other headers routes read (webhook signatures and event names), names in lower case.
  std::vector<std::pair<std::string, std::string>> headers = {};

  std::string_view header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers)
      if (name == lower_name) return value;
    return {};
  }
};

/// Headers http_server.cpp copies into Request::headers.
inline constexpr std::string_view kForwardedHeaders[] = {"x-github-event", "x-hub-signature-256", "x-github-delivery",
                                                         "x-gitlab-event", "x-gitlab-token"};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers = {};  ///< extra headers (WWW-Authenticate)
};

struct Query;

/// Routes served by another part of the aggregator (failover) under a path
/// prefix; writes (POST) there pass the same bearer check and rate limit first.
struct ExtraRoutes {
  std::string prefix;
  std::function<Response(const Query&, const Request&)> handle;
  std::function<void(std::string&)> metrics;  ///< appends Prometheus series to /metrics
};

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
  std::vector<ExtraRoutes> extra = {};
};

struct Query {
  std::string path;
  std::map<std::string, std::string> params;
};

/// Splits and percent-decodes a request target; nullopt for a malformed one.
std::optional<Query> parseTarget(std::string_view target);

class Api {
 public:
  using ReadyFn = std::function<bool()>;
  Api(storage::Store& store, const ingest::Counters& counters, ReadyFn ready, ApiOptions options = {});

  Response handle(const Request& request);

 private:
  Response nodes(const Query& q);
  Response node(const std::string& id);
  Response issues(const Query& q);
  Response builds(const Query& q);
  Response remediations(const Query& q);
  Response metrics();
  // fleet_routes.cpp: health scores, trends and statistics.
  /// nullopt when the path is not one of these resources; 405 for anything but GET/HEAD.
  std::optional<Response> routeFleet(const Query& q, bool read);
  std::optional<Response> routeWrites(const Query& q, const Request& request);
  Response sendCommand(wire::CommandSpec spec, const std::string& what);
  /// The bearer check and rate limit of every write; nullopt: go ahead.
  std::optional<Response> refuseWrite(const Request& request);
  // webhook_routes.cpp: incoming CI webhooks and the runs they recorded.
  std::optional<Response> routeWebhooks(const Query& q, const Request& request);
  Response ciRuns(const Query& q);
  void appendWebhookMetrics(std::string& out);
  struct WebhookCounters {
    uint64_t accepted = 0, duplicate = 0, ignored = 0, rejected = 0, malformed = 0, too_large = 0;
  };
  std::map<std::string, WebhookCounters> webhook_counters_;  ///< by source; the io thread only
  double write_tokens_ = 20;                                 ///< token bucket for writes: 20 burst, 5 per second
  std::chrono::steady_clock::time_point write_refill_ = std::chrono::steady_clock::now();
  std::shared_ptr<const health::ScoredFleet> currentHealth(int64_t now_ms);
  Response fleetHealth();
  Response regions();
  Response region(const std::string& name);
  Response fleetTrend(const Query& q);
  Response statistics(const Query& q);
  void appendHealthMetrics(std::string& out);

  storage::Store& store_;
  const ingest::Counters& counters_;
  ReadyFn ready_;
  ApiOptions options_;
};

Response errorResponse(int status, std::string_view message);
Response jsonResponse(int status, const nlohmann::json& body);

}  // namespace hale::aggregator::api
