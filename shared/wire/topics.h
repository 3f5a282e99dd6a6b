#pragma once
// Topic names of the wire: hale/v1/<region>/<node>/<kind>. One place builds
// and parses them so the agent, aggregator and broker ACL cannot drift apart.
#include <optional>
#include <string>
#include <string_view>

namespace hale::wire {

inline constexpr std::string_view kTopicRoot = "hale/v1";
inline constexpr std::string_view kFailoverTopic = "hale/v1/global/failover";

/// Node ids and region names: 1-64 of [A-Za-z0-9._-], not starting with '.'.
/// They become topic levels and file names, so nothing else is allowed.
bool isValidId(std::string_view id);

std::string telemetryTopic(std::string_view region, std::string_view node);
std::string statusTopic(std::string_view region, std::string_view node);
std::string nodeCommandTopic(std::string_view region, std::string_view node);
std::string regionCommandTopic(std::string_view region);
std::string ackTopic(std::string_view region, std::string_view node);

struct NodeTopic {
  std::string region;
  std::string node;
  std::string kind;  ///< telemetry, status, cmd, ack
};

/// Parses hale/v1/<region>/<node>/<kind>; nullopt for anything else.
std::optional<NodeTopic> parseNodeTopic(std::string_view topic);

}  // namespace hale::wire
