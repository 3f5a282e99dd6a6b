// Writes: operators (or tools) ask agents to act. Each becomes a command
// signed by the aggregator and published to the node or region; the agent
// verifies and audits it. The routes are Access::Write: the write token
// (constant-time compare) and the write rate limit come first.
//   POST /api/v1/nodes/{id}/remediate        {"check": C}
//   POST /api/v1/remediations/{id}/approve   {"node": N}
//   POST /api/v1/auto-remediation            {"enabled": bool, "node"?: N, "region"?: R, "check"?: C}
#include "aggregator/api/context.h"
#include "aggregator/api/params.h"
#include "aggregator/api/routes.h"
#include "shared/wire/topics.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace hale::aggregator::api {
namespace {
using nlohmann::json;
constexpr size_t kMaxWriteBody = 64 * 1024;

std::optional<uint64_t> parsePositive(std::string_view s) {
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

/// The JSON object body of a write, or the answer that refuses it.
std::variant<json, Response> readBody(const ApiContext& ctx, const Request& request) {
  if (request.body.size() > kMaxWriteBody) return errorResponse(413, "request body over 64 KiB");
  json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
  if (!body.is_object()) return errorResponse(400, "the body must be a JSON object");
  if (!ctx.options.send_command)
    return errorResponse(503, "commands are not configured ([commands] signing_key_file and [mqtt])");
  return body;
}

Response sendCommand(ApiContext& ctx, wire::CommandSpec spec, const std::string& what) {
  spec.epoch = ctx.options.command_epoch;
  spec.issued_at_ms = ctx.nowMs();
  spec.expires_at_ms = spec.issued_at_ms + ctx.options.command_ttl.count();
  const std::string target = spec.target_node.empty() ? wire::regionCommandTopic(spec.target_region)
                                                      : wire::nodeCommandTopic(spec.target_region, spec.target_node);
  auto sent = ctx.options.send_command(spec);
  if (!sent) return errorResponse(503, "cannot send the command: " + sent.error().message);
  return jsonResponse(202, json{{"status", "sent"},
                                {"command", what},
                                {"topic", target},
                                {"epoch", spec.epoch},
                                {"expires_at_ms", spec.expires_at_ms}});
}

Response toNode(ApiContext& ctx, const storage::NodeRow& node, wire::CommandAction action, const std::string& what) {
  wire::CommandSpec spec;
  spec.target_region = node.region;
  spec.target_node = node.node;
  spec.action = std::move(action);
  return sendCommand(ctx, std::move(spec), what);
}

Response remediate(ApiContext& ctx, const Call& call) {
  auto body = readBody(ctx, call.request);
  if (auto* refused = std::get_if<Response>(&body)) return std::move(*refused);
  const std::string& id = call.path["id"];
  if (auto bad = refuseBadId(id, "node ids")) return std::move(*bad);
  const auto node = ctx.store.nodes().find(id);
  if (!node) return errorResponse(404, fmt::format("no node '{}'", id));
  const auto check = idField(std::get<json>(body), "check");
  if (!check || check->empty()) return errorResponse(400, "body needs \"check\": the check whose plan to run");
  return toNode(ctx, *node, wire::TriggerAction{*check}, fmt::format("remediate {} on {}", *check, node->node));
}

Response approve(ApiContext& ctx, const Call& call) {
  auto body = readBody(ctx, call.request);
  if (auto* refused = std::get_if<Response>(&body)) return std::move(*refused);
  const auto attempt = parsePositive(call.path["id"]);
  if (!attempt) return errorResponse(400, "remediation ids are positive integers");
  const auto node_id = idField(std::get<json>(body), "node");
  if (!node_id || node_id->empty())
    return errorResponse(400, "body needs \"node\": the node whose remediation this is");
  const auto node = ctx.store.nodes().find(*node_id);
  if (!node) return errorResponse(404, fmt::format("no node '{}'", *node_id));
  return toNode(ctx, *node, wire::ApproveAction{*attempt},
                fmt::format("approve remediation {} on {}", *attempt, node->node));
}

// Regions that hold `region` (every region when empty), each once.
std::vector<std::string> regionsOf(storage::Store& store, const std::string& region) {
  std::vector<std::string> regions;
  for (const auto& [node, r] : store.nodes().regions())
    if ((region.empty() || r == region) && std::find(regions.begin(), regions.end(), r) == regions.end())
      regions.push_back(r);
  return regions;
}

Response autoRemediation(ApiContext& ctx, const Call& call) {
  auto parsed = readBody(ctx, call.request);
  if (auto* refused = std::get_if<Response>(&parsed)) return std::move(*refused);
  const json& body = std::get<json>(parsed);
  if (!body.contains("enabled") || !body["enabled"].is_boolean())
    return errorResponse(400, "body needs \"enabled\": true|false");
  const auto node_id = idField(body, "node"), region = idField(body, "region"), check = idField(body, "check");
  if (!node_id || !region || !check) return errorResponse(400, "node, region and check must be ids ([A-Za-z0-9._-])");
  const wire::AutoRemediationAction action{body["enabled"].get<bool>(), *check};
  if (!node_id->empty()) {
    const auto node = ctx.store.nodes().find(*node_id);
    if (!node) return errorResponse(404, fmt::format("no node '{}'", *node_id));
    return toNode(ctx, *node, action, "auto-remediation for node " + node->node);
  }
  const auto regions = regionsOf(ctx.store, *region);
  if (regions.empty()) return errorResponse(404, region->empty() ? "no nodes known yet" : "no such region: " + *region);
  for (const auto& r : regions) {
    wire::CommandSpec per_region;
    per_region.target_region = r;
    per_region.action = action;
    Response one = sendCommand(ctx, std::move(per_region), "auto-remediation for region " + r);
    if (one.status != 202) return one;
  }
  return jsonResponse(202, json{{"status", "sent"}, {"regions", regions}, {"enabled", action.enabled}});
}

constexpr Route kRoutes[] = {
    {kPost, "/api/v1/nodes/{id}/remediate", remediate, Access::Write},
    {kPost, "/api/v1/remediations/{id}/approve", approve, Access::Write},
    {kPost, "/api/v1/auto-remediation", autoRemediation, Access::Write},
};
}  // namespace

std::span<const Route> writeRoutes() { return kRoutes; }

}  // namespace hale::aggregator::api
