#include "shared/wire/topics.h"

#include <fmt/format.h>

#include <vector>

namespace hale::wire {

bool isValidId(std::string_view id) {
  if (id.empty() || id.size() > 64 || id.front() == '.') return false;
  for (char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string telemetryTopic(std::string_view region, std::string_view node) {
  return fmt::format("{}/{}/{}/telemetry", kTopicRoot, region, node);
}
std::string statusTopic(std::string_view region, std::string_view node) {
  return fmt::format("{}/{}/{}/status", kTopicRoot, region, node);
}
std::string nodeCommandTopic(std::string_view region, std::string_view node) {
  return fmt::format("{}/{}/{}/cmd", kTopicRoot, region, node);
}
std::string regionCommandTopic(std::string_view region) { return fmt::format("{}/{}/cmd", kTopicRoot, region); }
std::string ackTopic(std::string_view region, std::string_view node) {
  return fmt::format("{}/{}/{}/ack", kTopicRoot, region, node);
}

std::optional<NodeTopic> parseNodeTopic(std::string_view topic) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (parts.size() < 7) {
    const size_t slash = topic.find('/', start);
    parts.push_back(topic.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 5 || parts[0] != "hale" || parts[1] != "v1") return std::nullopt;
  if (!isValidId(parts[2]) || !isValidId(parts[3]) || parts[4].empty()) return std::nullopt;
  return NodeTopic{std::string(parts[2]), std::string(parts[3]), std::string(parts[4])};
}

}  // namespace hale::wire
