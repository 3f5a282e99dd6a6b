#include "aggregator/api/api.h"

#include "aggregator/api/auth.h"
#include "aggregator/dashboard/dashboard_page.h"

#include "shared/util/clock.h"
#include "shared/wire/envelope.h"
#include "shared/wire/topics.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <unordered_map>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hexValue(s[i + 1]), lo = hexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<size_t> parseSize(const std::string& s) {
  size_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A node is stale when it claims to be online but its heartbeats stopped
// (a broker restart can lose a last will); the rule lives with the health formula.
bool isStale(const storage::NodeRow& n, int64_t now_ms, const health::Params& params) {
  health::NodeInput in;
  in.online = true;
  in.last_seen_ms = n.last_seen_ms;
  in.heartbeat_interval_ms = n.heartbeat_interval_ms;
  return health::livenessOf(in, now_ms, params) == health::Liveness::Stale;
}

json remediationJson(const storage::RemediationRow& row) {
  const auto& r = row.remediation;
  return json{{"node", row.node},
              {"region", row.region},
              {"attempt_id", r.attempt_id},
              {"issue_id", r.issue_id},
              {"check", r.check},
              {"action", r.action},
              {"outcome", wire::remediationOutcomeName(r.outcome)},
              {"reason", r.reason},
              {"exit_code", r.exit_code},
              {"duration_ms", r.duration_ms},
              {"at_ms", r.at_ms}};
}

json issueJson(const storage::IssueRow& row) {
  const auto& i = row.issue;
  return json{{"node", row.node},
              {"region", row.region},
              {"issue_id", i.issue_id},
              {"check", i.check},
              {"state", i.closed_at_ms ? "closed" : "open"},
              {"status", wire::statusName(i.status)},
              {"severity", wire::statusName(i.severity)},
              {"component", wire::componentName(i.component)},
              {"message", i.message},
              {"opened_at_ms", i.opened_at_ms},
              {"closed_at_ms", i.closed_at_ms},
              {"updated_at_ms", row.updated_at_ms}};
}

// limit (1..1000, default 100) and offset; an error message when malformed.
std::optional<std::string> readPage(const Query& q, size_t& limit, size_t& offset) {
  if (auto it = q.params.find("limit"); it != q.params.end()) {
    auto v = parseSize(it->second);
    if (!v || *v < 1 || *v > 1000) return "limit must be 1..1000";
    limit = *v;
  }
  if (auto it = q.params.find("offset"); it != q.params.end()) {
    auto v = parseSize(it->second);
    if (!v) return "offset must be a non-negative integer";
    offset = *v;
  }
  return std::nullopt;
}

// An id-valued query parameter; an error message when malformed.
std::optional<std::string> readId(const Query& q, const std::string& key, std::string& out) {
  auto it = q.params.find(key);
  if (it == q.params.end()) return std::nullopt;
  if (!wire::isValidId(it->second)) return key + " must be 1-64 characters of [A-Za-z0-9._-]";
  out = it->second;
  return std::nullopt;
}

json nodeJson(const storage::NodeRow& n, int64_t now_ms, const health::Params& params,
              const health::NodeHealth* scored) {
  const bool stale = isStale(n, now_ms, params);
  return json{{"node", n.node},
              {"region", n.region},
              {"online", n.online && !stale},
              {"stale", n.online && stale},
              {"last_seen_ms", n.last_seen_ms},
              {"first_seen_ms", n.first_seen_ms},
              {"status_changed_ms", n.status_changed_ms},
              {"agent_version", n.agent_version},
              {"heartbeat_interval_ms", n.heartbeat_interval_ms},
              {"last_seq", n.max_seq},
              {"messages", n.messages},
              {"missing", n.max_seq - std::min(n.max_seq, n.messages)},
              {"checks", n.checks},
              {"worst_status",
               n.worst_status < 0 ? "none" : std::string(wire::statusName(static_cast<wire::CheckStatus>(n.worst_status)))},
              {"score", scored ? json(scored->score) : json(nullptr)},
              {"band", scored ? json(health::bandName(health::bandOf(scored->score))) : json(nullptr)}};
}

bool isPublic(const std::string& path) {
  // Webhooks carry their own signature or token instead of the read token.
  return path == "/health" || path == "/ready" || path == "/" || path == "/dashboard" ||
         path.starts_with("/api/v1/webhooks/");
}
}  // namespace

Response jsonResponse(int status, const json& body) {
  return Response{status, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"};
}

Response errorResponse(int status, std::string_view message) {
  return jsonResponse(status, json{{"error", message}, {"status", status}});
}

std::optional<Query> parseTarget(std::string_view target) {
  if (target.empty() || target[0] != '/' || target.size() > 8192) return std::nullopt;
  Query q;
  const size_t qmark = target.find('?');
  auto path = percentDecode(target.substr(0, qmark), false);
  if (!path) return std::nullopt;
  q.path = std::move(*path);
  if (qmark == std::string_view::npos) return q;
  std::string_view rest = target.substr(qmark + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    if (!key->empty()) q.params[*key] = *value;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return q;
}

Api::Api(storage::Store& store, const ingest::Counters& counters, ReadyFn ready, ApiOptions options)
    : store_(store), counters_(counters), ready_(std::move(ready)), options_(std::move(options)) {}

Response Api::handle(const Request& request) {
  const auto q = parseTarget(request.target);
  if (!q) return errorResponse(400, "malformed request target");
  const bool read = request.method == "GET" || request.method == "HEAD";
  if (options_.read_token && !isPublic(q->path) && !bearerMatches(request.authorization, *options_.read_token)) {
    Response r = errorResponse(
        401, request.authorization.empty() ? "this resource needs a bearer token" : "invalid bearer token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hale\"");
    return r;
  }
  try {
    if (q->path == "/" || q->path == "/dashboard") {
      if (!read) return errorResponse(405, "use GET");
      return Response{200, std::string(dashboard::dashboardPage()), "text/html; charset=utf-8", {}};
    }
    if (q->path == "/health") {
      if (!read) return errorResponse(405, "use GET");
      return jsonResponse(200, json{{"status", "ok"}, {"version", HALE_VERSION}});
    }
    if (q->path == "/ready") {
      if (!read) return errorResponse(405, "use GET");
      const bool ready = ready_ && ready_();
      return jsonResponse(ready ? 200 : 503, json{{"ready", ready}});
    }
    if (q->path == "/metrics") {
      if (!read) return errorResponse(405, "use GET");
      return metrics();
    }
    constexpr std::string_view kNodes = "/api/v1/nodes";
    if (q->path == kNodes || q->path == std::string(kNodes) + "/") {
      if (!read) return errorResponse(405, "use GET");
      return nodes(*q);
    }
    if (q->path == "/api/v1/issues") {
      if (!read) return errorResponse(405, "use GET");
      return issues(*q);
    }
    if (q->path == "/api/v1/remediations") {
      if (!read) return errorResponse(405, "use GET");
      return remediations(*q);
    }
    if (q->path == "/api/v1/builds") {
      if (!read) return errorResponse(405, "use GET");
      return builds(*q);
    }
    if (auto fleet = routeFleet(*q, read)) return std::move(*fleet);
    if (auto hook = routeWebhooks(*q, request)) return std::move(*hook);
    if (auto write = routeWrites(*q, request)) return std::move(*write);
    for (const auto& extra : options_.extra) {
      if (!extra.handle || q->path.rfind(extra.prefix, 0) != 0) continue;
      if (!read)
        if (auto refused = refuseWrite(request)) return std::move(*refused);
      return extra.handle(*q, request);
    }
    if (q->path.rfind(std::string(kNodes) + "/", 0) == 0) {
      if (!read) return errorResponse(405, "use GET");
      const std::string id = q->path.substr(kNodes.size() + 1);
      if (!wire::isValidId(id)) return errorResponse(400, "node ids are 1-64 characters of [A-Za-z0-9._-]");
      return node(id);
    }
    return errorResponse(404, fmt::format("no such resource: {}", q->path.substr(0, 200)));
  } catch (const std::exception& e) {
    return errorResponse(500, e.what());
  }
}

Response Api::nodes(const Query& q) {
  storage::NodeFilter filter;
  if (auto err = readId(q, "region", filter.region)) return errorResponse(400, *err);
  if (auto it = q.params.find("status"); it != q.params.end()) {
    if (it->second == "online")
      filter.online = true;
    else if (it->second == "offline")
      filter.online = false;
    else
      return errorResponse(400, "status must be online or offline");
  }
  if (auto err = readPage(q, filter.limit, filter.offset)) return errorResponse(400, *err);
  const int64_t now = unixMillisNow();
  const auto scores = currentHealth(now);
  json items = json::array();
  for (const auto& n : store_.nodes(filter)) items.push_back(nodeJson(n, now, options_.health, scores->node(n.node)));
  return jsonResponse(
      200,
      json{{"nodes", items}, {"total", store_.countNodes(filter)}, {"limit", filter.limit}, {"offset", filter.offset}});
}

Response Api::node(const std::string& id) {
  const auto n = store_.node(id);
  if (!n) return errorResponse(404, fmt::format("no node '{}'", id));
  const int64_t now = unixMillisNow();
  const auto scores = currentHealth(now);
  const health::NodeHealth* scored = scores->node(id);
  json body = nodeJson(*n, now, options_.health, scored);
  if (scored) {
    json components = json::object();
    for (size_t c = 0; c < health::kComponents; ++c)
      components[std::string(health::componentName(c))] = scored->components[c];
    body["components"] = components;
    body["liveness"] = health::livenessName(scored->liveness);
  }
  json checks = json::array();
  for (const auto& r : store_.latestResults(id)) {
    checks.push_back({{"check", r.check},
                      {"kind", r.kind},
                      {"status", wire::statusName(r.status)},
                      {"component", wire::componentName(r.component)},
                      {"message", r.message},
                      {"metrics", json::parse(r.metrics_json, nullptr, false)},
                      {"observed_at_ms", r.observed_at_ms}});
  }
  body["results"] = checks;
  json open = json::array();
  storage::IssueFilter filter;
  filter.node = id;
  filter.open = true;
  for (const auto& row : store_.issues(filter)) open.push_back(issueJson(row));
  body["open_issues"] = open;
  json recent = json::array();
  storage::RemediationFilter rf;
  rf.node = id;
  rf.limit = 20;
  for (const auto& row : store_.remediations(rf)) recent.push_back(remediationJson(row));
  body["recent_remediations"] = recent;
  return jsonResponse(200, body);
}

Response Api::issues(const Query& q) {
  storage::IssueFilter filter;
  if (auto err = readId(q, "node", filter.node)) return errorResponse(400, *err);
  if (auto err = readId(q, "region", filter.region)) return errorResponse(400, *err);
  if (auto it = q.params.find("state"); it != q.params.end()) {
    if (it->second == "open")
      filter.open = true;
    else if (it->second == "closed")
      filter.open = false;
    else if (it->second != "all")
      return errorResponse(400, "state must be open, closed or all");
  }
  if (auto err = readPage(q, filter.limit, filter.offset)) return errorResponse(400, *err);
  json items = json::array();
  for (const auto& row : store_.issues(filter)) items.push_back(issueJson(row));
  return jsonResponse(200, json{{"issues", items},
                                {"total", store_.countIssues(filter)},
                                {"limit", filter.limit},
                                {"offset", filter.offset}});
}

Response Api::metrics() {
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help,
                     std::initializer_list<std::pair<std::string_view, uint64_t>> series) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (const auto& [labels, v] : series) out += fmt::format("{}{} {}\n", name, labels, v);
  };
  counter("hale_ingest_messages_total", "MQTT messages received by the aggregator, by outcome.",
          {{"{outcome=\"stored\"}", counters_.stored.load()},
           {"{outcome=\"duplicate\"}", counters_.duplicates.load()},
           {"{outcome=\"invalid\"}", counters_.invalid.load()},
           {"{outcome=\"status\"}", counters_.status_updates.load()}});
  counter("hale_ingest_batches_total", "SQLite transactions written by ingest.", {{"", counters_.batches.load()}});
  counter("hale_ingest_store_errors_total", "Failed ingest writes (retried).", {{"", counters_.store_errors.load()}});
  out +=
      "# HELP hale_ingest_latency_seconds From the envelope's sent_at (agent clock) to its SQLite commit.\n"
      "# TYPE hale_ingest_latency_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counters_.latency.size(); ++i) {
    cumulative += counters_.latency[i].load();
    const std::string le =
        i < std::size(ingest::kLatencyBuckets) ? fmt::format("{}", ingest::kLatencyBuckets[i]) : "+Inf";
    out += fmt::format("hale_ingest_latency_seconds_bucket{{le=\"{}\"}} {}\n", le, cumulative);
  }
  out += fmt::format("hale_ingest_latency_seconds_sum {:.3f}\nhale_ingest_latency_seconds_count {}\n",
                     static_cast<double>(counters_.latency_sum_ms.load()) / 1000.0, cumulative);
  appendHealthMetrics(out);
  for (const auto& extra : options_.extra)
    if (extra.metrics) extra.metrics(out);
  appendWebhookMetrics(out);
  if (options_.extra_metrics) options_.extra_metrics(out);
  return Response{200, out, "text/plain; version=0.0.4", {}};
}

Response Api::builds(const Query& q) {
  std::string region, category;
  if (auto err = readId(q, "region", region)) return errorResponse(400, *err);
  if (auto err = readId(q, "category", category)) return errorResponse(400, *err);
  int64_t window_ms = 24LL * 3600 * 1000;
  if (auto it = q.params.find("window"); it != q.params.end()) {
    if (it->second == "7d")
      window_ms *= 7;
    else if (it->second == "30d")
      window_ms *= 30;
    else if (it->second != "24h")
      return errorResponse(400, "window must be 24h, 7d or 30d");
  }
  size_t limit = 50, offset = 0;
  if (auto err = readPage(q, limit, offset)) return errorResponse(400, *err);
  const int64_t since = unixMillisNow() - window_ms;
  json categories = json::array();
  for (const auto& c : store_.buildCategories(since, region))
    categories.push_back({{"category", c.category}, {"count", c.count}});
  json recent = json::array();
  for (const auto& row : store_.recentBuilds(since, region, category, limit)) {
    const auto& b = row.build;
    recent.push_back({{"node", row.node},
                      {"region", row.region},
                      {"build_id", b.build_id},
                      {"attempt", b.attempt},
                      {"command", b.command},
                      {"exit_code", b.exit_code},
                      {"category", b.category},
                      {"secondary_category", b.secondary_category},
                      {"confidence", b.confidence},
                      {"remedy", b.remedy},
                      {"duration_ms", b.duration_ms},
                      {"evidence", b.evidence},
                      {"at_ms", b.at_ms}});
  }
  return jsonResponse(200, json{{"categories", categories}, {"recent", recent}, {"window_ms", window_ms}});
}

Response Api::remediations(const Query& q) {
  storage::RemediationFilter filter;
  if (auto err = readId(q, "node", filter.node)) return errorResponse(400, *err);
  if (auto err = readId(q, "region", filter.region)) return errorResponse(400, *err);
  if (auto err = readId(q, "outcome", filter.outcome)) return errorResponse(400, *err);
  if (auto err = readPage(q, filter.limit, filter.offset)) return errorResponse(400, *err);
  json items = json::array();
  for (const auto& row : store_.remediations(filter)) items.push_back(remediationJson(row));
  // Success rate over the last 7 days: healed / (healed + not healed + failed).
  uint64_t healed = 0, unhealed = 0;
  json outcomes = json::object();
  for (const auto& c : store_.remediationOutcomes(unixMillisNow() - 7LL * 86'400'000, filter.region)) {
    outcomes[c.category] = c.count;
    if (c.category == "Healed") healed += c.count;
    if (c.category == "NotHealed" || c.category == "Failed") unhealed += c.count;
  }
  return jsonResponse(
      200, json{{"remediations", items},
                {"outcomes_7d", outcomes},
                {"success_rate_7d", healed + unhealed ? json(double(healed) / double(healed + unhealed)) : json()},
                {"limit", filter.limit},
                {"offset", filter.offset}});
}

}  // namespace hale::aggregator::api
