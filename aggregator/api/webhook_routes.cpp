// Incoming CI webhooks: POST /api/v1/webhooks/{source} (github, gitlab,
// jenkins) records build outcomes in ci_runs; GET /api/v1/ci-runs lists them.
//   github:  X-Hub-Signature-256 = sha256=HMAC(secret, raw body); X-GitHub-Event
//            workflow_run and check_run are recorded, other events (ping) answer 202.
//   gitlab:  X-Gitlab-Token equal to the configured token; Pipeline Hook.
//   jenkins: Notification plugin JSON; "Authorization: Bearer <token>" (the
//            plugin's URL can't carry headers, so a proxy or curl adds it; a
//            query-string token would end up in access logs).
// The webhook route is public to the read token: each source authenticates itself.
#include "aggregator/api/auth.h"
#include "aggregator/api/context.h"
#include "aggregator/api/params.h"
#include "aggregator/api/routes.h"
#include "shared/crypto/crypto.h"
#include "shared/util/log.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;

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

const std::optional<std::string>* secretOf(const webhooks::Secrets& secrets, const std::string& source) {
  return source == "github"    ? &secrets.github
         : source == "gitlab"  ? &secrets.gitlab
         : source == "jenkins" ? &secrets.jenkins
                               : nullptr;
}

// Authenticate before parsing: unauthenticated bytes never reach the parser.
bool authentic(const std::string& source, const std::string& secret, const Request& request) {
  if (source == "github")
    return webhooks::githubSignatureValid(secret, request.body, request.header("x-hub-signature-256"));
  if (source == "gitlab")
    return !request.header("x-gitlab-token").empty() &&
           crypto::constantTimeEqual(request.header("x-gitlab-token"), secret);
  return bearerMatches(request.authorization, secret);
}

Result<std::optional<webhooks::CiRun>> parse(const std::string& source, const Request& request) {
  if (source == "github") return webhooks::parseGithub(request.header("x-github-event"), request.body);
  if (source == "gitlab") return webhooks::parseGitlab(request.header("x-gitlab-event"), request.body);
  return webhooks::parseJenkins(request.body);
}

Response refuseUnauthentic(const std::string& source, WebhookCounters& counters) {
  ++counters.rejected;
  log::warn("webhooks", "refused a webhook with a bad signature or token", {{"source", source}});
  return errorResponse(401, source == "github"   ? "bad or missing X-Hub-Signature-256"
                            : source == "gitlab" ? "bad or missing X-Gitlab-Token"
                                                 : "bad or missing bearer token");
}

Response receive(ApiContext& ctx, const Call& call) {
  const std::string& source = call.path["source"];
  const auto* secret = secretOf(ctx.options.webhooks, source);
  if (!secret)
    return errorResponse(404,
                         fmt::format("no webhook '{}'; there are github, gitlab and jenkins", source.substr(0, 64)));
  if (!*secret)
    return errorResponse(404, fmt::format("the {} webhook is not configured ([webhooks] {}_*_file or _env)", source,
                                          source == "github" ? "github_secret" : source + "_token"));
  auto& counters = ctx.webhook_counters[source];
  if (call.request.body.size() > webhooks::kMaxPayloadBytes) {
    ++counters.too_large;
    return errorResponse(413, fmt::format("payloads are limited to {} bytes", webhooks::kMaxPayloadBytes));
  }
  if (!authentic(source, **secret, call.request)) return refuseUnauthentic(source, counters);
  auto run = parse(source, call.request);
  if (!run) {
    ++counters.malformed;
    return errorResponse(400, run.error().message);
  }
  if (!*run) {
    ++counters.ignored;
    return jsonResponse(202, json{{"status", "ignored"}});
  }
  (*run)->received_at_ms = ctx.nowMs();
  const bool stored = ctx.store.ciRuns().insert(**run);
  ++(stored ? counters.accepted : counters.duplicate);
  return jsonResponse(stored ? 201 : 200,
                      json{{"status", stored ? "recorded" : "duplicate"}, {"run", ciRunJson(**run)}});
}

Response listRuns(ApiContext& ctx, const Call& call) {
  storage::CiRunFilter f;
  for (auto [key, field] : {std::pair<const char*, std::string*>{"repository", &f.repository},
                            {"status", &f.status},
                            {"source", &f.source}}) {
    if (auto it = call.query.params.find(key); it != call.query.params.end()) {
      if (!validFilter(it->second))
        return errorResponse(400, fmt::format("{} must be at most 256 printable characters", key));
      *field = it->second;
    }
  }
  if (auto err = readPage(call.query, f.limit, f.offset)) return errorResponse(400, *err);
  json items = json::array();
  for (const auto& r : ctx.store.ciRuns().list(f)) items.push_back(ciRunJson(r));
  return jsonResponse(
      200, json{{"ci_runs", items}, {"total", ctx.store.ciRuns().count(f)}, {"limit", f.limit}, {"offset", f.offset}});
}

constexpr Route kRoutes[] = {
    {kPost, "/api/v1/webhooks/{source}", receive, Access::Public},
    {kGet, "/api/v1/ci-runs", listRuns},
};
}  // namespace

std::span<const Route> webhookRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
