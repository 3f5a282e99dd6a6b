// Writes: operators (or tools) ask agents to act. Each becomes a command
// signed by the aggregator and published to the node or region; the agent
// verifies and audits it. Writes need the write token (constant-time compare)
// and are rate-limited.
#include "aggregator/api/api.h"
#include "aggregator/api/auth.h"
#include "shared/util/clock.h"
#include "shared/wire/topics.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;
constexpr size_t kMaxWriteBody = 64 * 1024;

std::optional<uint64_t> parseId(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0) return std::nullopt;
  return v;
}

// "" when absent; nullopt when present but not a valid id.
std::optional<std::string> idField(const json& body, const char* key) {
  if (!body.contains(key)) return std::string();
  if (!body[key].is_string() || !wire::isValidId(body[key].get<std::string>())) return std::nullopt;
  return body[key].get<std::string>();
}
}  // namespace

std::optional<Response> Api::refuseWrite(const Request& request) {
  if (!options_.write_token)
    return errorResponse(403, "writes are off: set [http] write_token_file or write_token_env");
  if (!bearerMatches(request.authorization, *options_.write_token)) {
    Response r =
        errorResponse(401, request.authorization.empty() ? "writes need a bearer token" : "invalid bearer token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hale\"");
    return r;
  }
  const auto now = std::chrono::steady_clock::now();
  write_tokens_ = std::min(20.0, write_tokens_ + 5.0 * std::chrono::duration<double>(now - write_refill_).count());
  write_refill_ = now;
  if (write_tokens_ < 1.0) {
    Response r = errorResponse(429, "too many writes; retry in a second");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  write_tokens_ -= 1.0;
  return std::nullopt;
}

std::optional<Response> Api::routeWrites(const Query& q, const Request& request) {
  const bool approve = q.path.rfind("/api/v1/remediations/", 0) == 0 && q.path.size() >= 30 &&
                       q.path.compare(q.path.size() - 8, 8, "/approve") == 0;
  const bool remediate = q.path.rfind("/api/v1/nodes/", 0) == 0 && q.path.size() >= 25 &&
                         q.path.compare(q.path.size() - 10, 10, "/remediate") == 0;
  const bool auto_switch = q.path == "/api/v1/auto-remediation";
  if (!approve && !remediate && !auto_switch) return std::nullopt;
  if (request.method != "POST") return errorResponse(405, "use POST");
  if (auto refused = refuseWrite(request)) return std::move(*refused);
  if (request.body.size() > kMaxWriteBody) return errorResponse(413, "request body over 64 KiB");
  const json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
  if (!body.is_object()) return errorResponse(400, "the body must be a JSON object");
  if (!options_.send_command)
    return errorResponse(503, "commands are not configured ([commands] signing_key_file and [mqtt])");

  wire::CommandSpec spec;
  if (approve) {
    const std::string middle = q.path.substr(21, q.path.size() - 21 - 8);
    const auto attempt = parseId(middle);
    if (!attempt) return errorResponse(400, "remediation ids are positive integers");
    const auto node_id = idField(body, "node");
    if (!node_id || node_id->empty())
      return errorResponse(400, "body needs \"node\": the node whose remediation this is");
    const auto node = store_.node(*node_id);
    if (!node) return errorResponse(404, fmt::format("no node '{}'", *node_id));
    spec.target_region = node->region;
    spec.target_node = node->node;
    spec.action = wire::ApproveAction{*attempt};
    return sendCommand(std::move(spec), fmt::format("approve remediation {} on {}", *attempt, node->node));
  }
  if (remediate) {
    const std::string id = q.path.substr(14, q.path.size() - 14 - 10);
    if (!wire::isValidId(id)) return errorResponse(400, "node ids are 1-64 characters of [A-Za-z0-9._-]");
    const auto node = store_.node(id);
    if (!node) return errorResponse(404, fmt::format("no node '{}'", id));
    const auto check = idField(body, "check");
    if (!check || check->empty()) return errorResponse(400, "body needs \"check\": the check whose plan to run");
    spec.target_region = node->region;
    spec.target_node = node->node;
    spec.action = wire::TriggerAction{*check};
    return sendCommand(std::move(spec), fmt::format("remediate {} on {}", *check, node->node));
  }
  // auto-remediation: {"enabled": bool, "node"?: id, "region"?: id, "check"?: id}; neither node nor region: fleet.
  if (!body.contains("enabled") || !body["enabled"].is_boolean())
    return errorResponse(400, "body needs \"enabled\": true|false");
  const auto node_id = idField(body, "node");
  const auto region = idField(body, "region");
  const auto check = idField(body, "check");
  if (!node_id || !region || !check) return errorResponse(400, "node, region and check must be ids ([A-Za-z0-9._-])");
  const wire::AutoRemediationAction action{body["enabled"].get<bool>(), *check};
  if (!node_id->empty()) {
    const auto node = store_.node(*node_id);
    if (!node) return errorResponse(404, fmt::format("no node '{}'", *node_id));
    spec.target_region = node->region;
    spec.target_node = node->node;
    spec.action = action;
    return sendCommand(std::move(spec), "auto-remediation for node " + node->node);
  }
  std::vector<std::string> regions;
  for (const auto& [node, r] : store_.nodeRegions())
    if ((region->empty() || r == *region) && std::find(regions.begin(), regions.end(), r) == regions.end())
      regions.push_back(r);
  if (regions.empty()) return errorResponse(404, region->empty() ? "no nodes known yet" : "no such region: " + *region);
  json sent = json::array();
  for (const auto& r : regions) {
    wire::CommandSpec per_region;
    per_region.target_region = r;
    per_region.action = action;
    Response one = sendCommand(std::move(per_region), "auto-remediation for region " + r);
    if (one.status != 202) return one;
    sent.push_back(r);
  }
  return jsonResponse(202, json{{"status", "sent"}, {"regions", sent}, {"enabled", action.enabled}});
}

Response Api::sendCommand(wire::CommandSpec spec, const std::string& what) {
  spec.epoch = options_.command_epoch;
  spec.issued_at_ms = unixMillisNow();
  spec.expires_at_ms = spec.issued_at_ms + options_.command_ttl.count();
  const std::string target = spec.target_node.empty() ? wire::regionCommandTopic(spec.target_region)
                                                      : wire::nodeCommandTopic(spec.target_region, spec.target_node);
  auto sent = options_.send_command(spec);
  if (!sent) return errorResponse(503, "cannot send the command: " + sent.error().message);
  return jsonResponse(202, json{{"status", "sent"},
                                {"command", what},
                                {"topic", target},
                                {"epoch", spec.epoch},
                                {"expires_at_ms", spec.expires_at_ms}});
}

}  // namespace hale::aggregator::api
