#pragma once
// What one notification says, and the request body each kind of target gets.
#include "aggregator/notify/notify_config.h"

#include <cstdint>
#include <string>

namespace hale::aggregator::notify {

struct Message {
  Event event = Event::UnfixedCritical;
  std::string node, region, check;
  uint64_t issue = 0;    ///< the issue id, or the failover epoch
  std::string severity;  ///< critical, error
  std::string message;
  int64_t time_ms = 0;
  std::string link;
};

/// The request body for `kind` ("slack": {"text"}, "webhook": the fields).
std::string renderBody(const std::string& kind, const Message& m);

/// One queue row per (target, event, node, check, issue): the same event seen again is not news.
std::string dedupKey(const Target& t, const Message& m);

}  // namespace hale::aggregator::notify
