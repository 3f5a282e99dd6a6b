#include "aggregator/notify/message.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ctime>

namespace hale::aggregator::notify {
namespace {
using nlohmann::json;

std::string isoTime(int64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string summary(const Message& m) {
  switch (m.event) {
    case Event::UnfixedCritical:
      return fmt::format("Hale could not fix a critical issue on {} ({}): {}: {}", m.node, m.region, m.check,
                         m.message);
    case Event::RemediationFailed:
      return fmt::format("Remediation failed on {} ({}) for {}: {}", m.node, m.region, m.check, m.message);
    case Event::BreakerOpen:
      return fmt::format("Circuit breaker open on {} ({}) for {}: {}", m.node, m.region, m.check, m.message);
    case Event::RegionFailover:
      return fmt::format("Region failover: {}", m.message);
  }
  return m.message;
}
}  // namespace

std::string renderBody(const std::string& kind, const Message& m) {
  if (kind == "slack") {
    std::string text = summary(m);
    if (!m.link.empty()) text += fmt::format(" <{}|details>", m.link);
    return json{{"text", text}}.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return json{{"event", eventName(m.event)},
              {"node", m.node},
              {"region", m.region},
              {"check", m.check},
              {"issue", m.issue},
              {"severity", m.severity},
              {"message", m.message},
              {"summary", summary(m)},
              {"time", isoTime(m.time_ms)},
              {"time_ms", m.time_ms},
              {"link", m.link}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dedupKey(const Target& t, const Message& m) {
  return fmt::format("{}|{}|{}|{}|{}|{}", t.key(), eventName(m.event), m.node, m.check, m.issue,
                     m.event == Event::RegionFailover ? m.region : "");
}

}  // namespace hale::aggregator::notify
