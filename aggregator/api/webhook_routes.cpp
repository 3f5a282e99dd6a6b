// Incoming CI webhooks: POST /api/v1/webhooks/{github,gitlab,jenkins} record
// build outcomes in ci_runs; GET /api/v1/ci-runs lists them.
//   github:  X-Hub-Signature-256 = sha256=HMAC(secret, raw body); X-GitHub-Event
//            workflow_run and check_run are recorded, other events (ping) answer 202.
//   gitlab:  X-Gitlab-Token equal to the configured token; Pipeline Hook.
//   jenkins: Notification plugin JSON; "Authorization: Bearer <token>" (the
//            plugin's URL can't carry headers, so a proxy or curl adds it; a
//            query-string token would end up in access logs).
#include "aggregator/api/api.h"
#include "aggregator/api/auth.h"
#include "shared/util/clock.h"
#include "shared/util/log.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

std::optional<size_t> pageValue(const Query& q, const std::string& key) {
  auto it = q.params.find(key);
  if (it == q.params.end()) return std::nullopt;
  size_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || p != it->second.data() + it->second.size()) return SIZE_MAX;
  return v;
}

// Free text (repository names have slashes), bounded and printable.
bool validFilter(const std::string& s) {
  if (s.size() > 256) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

json ciRunJson(const webhooks::CiRun& r) {
  return json{{"source", r.source},
              {"repository", r.repository},
              {"pipeline", r.pipeline},
              {"run_id", r.run_id},
              {"status", r.status},
              {"conclusion", r.conclusion},
              {"branch", r.branch},
              {"commit", r.commit},
              {"url", r.url},
              {"started_at_ms", r.started_at_ms},
              {"finished_at_ms", r.finished_at_ms},
              {"received_at_ms", r.received_at_ms}};
}
}  // namespace

std::optional<Response> Api::routeWebhooks(const Query& q, const Request& request) {
  if (q.path == "/api/v1/ci-runs") {
    if (request.method != "GET" && request.method != "HEAD") return errorResponse(405, "use GET");
    return ciRuns(q);
  }
  constexpr std::string_view kPrefix = "/api/v1/webhooks/";
  if (!q.path.starts_with(kPrefix)) return std::nullopt;
  const std::string source = q.path.substr(kPrefix.size());
  const std::optional<std::string>* secret = source == "github"    ? &options_.webhooks.github
                                             : source == "gitlab"  ? &options_.webhooks.gitlab
                                             : source == "jenkins" ? &options_.webhooks.jenkins
                                                                   : nullptr;
  if (!secret)
    return errorResponse(404,
                         fmt::format("no webhook '{}'; there are github, gitlab and jenkins", source.substr(0, 64)));
  if (!*secret)
    return errorResponse(404, fmt::format("the {} webhook is not configured ([webhooks] {}_*_file or _env)", source,
                                          source == "github" ? "github_secret" : source + "_token"));
  if (request.method != "POST") return errorResponse(405, "use POST");
  auto& counters = webhook_counters_[source];
  if (request.body.size() > webhooks::kMaxPayloadBytes) {
    ++counters.too_large;
    return errorResponse(413, fmt::format("payloads are limited to {} bytes", webhooks::kMaxPayloadBytes));
  }
  // Authenticate before parsing: unauthenticated bytes never reach the parser.
  bool authentic = false;
  if (source == "github")
    authentic = webhooks::githubSignatureValid(**secret, request.body, request.header("x-hub-signature-256"));
  else if (source == "gitlab")
    authentic =
        !request.header("x-gitlab-token").empty() && constantTimeEquals(request.header("x-gitlab-token"), **secret);
  else
    authentic = bearerMatches(request.authorization, **secret);
  if (!authentic) {
    ++counters.rejected;
    log::warn("webhooks", "refused a webhook with a bad signature or token", {{"source", source}});
    return errorResponse(401, source == "github"   ? "bad or missing X-Hub-Signature-256"
                              : source == "gitlab" ? "bad or missing X-Gitlab-Token"
                                                   : "bad or missing bearer token");
  }
  Result<std::optional<webhooks::CiRun>> run =
      source == "github"   ? webhooks::parseGithub(request.header("x-github-event"), request.body)
      : source == "gitlab" ? webhooks::parseGitlab(request.header("x-gitlab-event"), request.body)
                           : webhooks::parseJenkins(request.body);
  if (!run) {
    ++counters.malformed;
    return errorResponse(400, run.error().message);
  }
  if (!*run) {
    ++counters.ignored;
    return jsonResponse(202, json{{"status", "ignored"}});
  }
  (*run)->received_at_ms = unixMillisNow();
  const bool stored = webhooks::insertCiRun(store_.db(), **run);
  ++(stored ? counters.accepted : counters.duplicate);
  return jsonResponse(stored ? 201 : 200,
                      json{{"status", stored ? "recorded" : "duplicate"}, {"run", ciRunJson(**run)}});
}

Response Api::ciRuns(const Query& q) {
  webhooks::CiRunFilter f;
  for (auto [key, field] : {std::pair<const char*, std::string*>{"repository", &f.repository},
                            {"status", &f.status},
                            {"source", &f.source}}) {
    if (auto it = q.params.find(key); it != q.params.end()) {
      if (!validFilter(it->second))
        return errorResponse(400, fmt::format("{} must be at most 256 printable characters", key));
      *field = it->second;
    }
  }
  if (auto v = pageValue(q, "limit")) {
    if (*v < 1 || *v > 1000) return errorResponse(400, "limit must be 1..1000");
    f.limit = *v;
  }
  if (auto v = pageValue(q, "offset")) {
    if (*v == SIZE_MAX) return errorResponse(400, "offset must be a non-negative integer");
    f.offset = *v;
  }
  json items = json::array();
  for (const auto& r : webhooks::ciRuns(store_.db(), f)) items.push_back(ciRunJson(r));
  return jsonResponse(200, json{{"ci_runs", items},
                                {"total", webhooks::countCiRuns(store_.db(), f)},
                                {"limit", f.limit},
                                {"offset", f.offset}});
}

void Api::appendWebhookMetrics(std::string& out) {
  static constexpr const char* kSources[] = {"github", "gitlab", "jenkins"};
  out +=
      "# HELP hale_webhook_rejected_total Incoming CI webhooks refused for a bad signature or token.\n"
      "# TYPE hale_webhook_rejected_total counter\n";
  for (const char* s : kSources) {
    auto it = webhook_counters_.find(s);
    out += fmt::format("hale_webhook_rejected_total{{source=\"{}\"}} {}\n", s,
                       it == webhook_counters_.end() ? 0 : it->second.rejected);
  }
  out +=
      "# HELP hale_webhook_received_total Authenticated or oversized CI webhooks, by outcome.\n"
      "# TYPE hale_webhook_received_total counter\n";
  for (const char* s : kSources) {
    auto it = webhook_counters_.find(s);
    const WebhookCounters c = it == webhook_counters_.end() ? WebhookCounters{} : it->second;
    for (auto [outcome, v] : {std::pair<const char*, uint64_t>{"recorded", c.accepted},
                              {"duplicate", c.duplicate},
                              {"ignored", c.ignored},
                              {"malformed", c.malformed},
                              {"too_large", c.too_large}})
      out += fmt::format("hale_webhook_received_total{{source=\"{}\",outcome=\"{}\"}} {}\n", s, outcome, v);
  }
}

}  // namespace hale::aggregator::api
