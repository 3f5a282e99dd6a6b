#pragma once
// What deserves a notification, read from the store: remediation failures and
// open circuit breakers since the last scan, and critical issues Hale could
// not fix. (Region failovers come from the failover service instead.)
#include "aggregator/notify/message.h"
#include "aggregator/storage/store.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hale::aggregator::notify {

/// remediation_failed and breaker_open messages since the last scan; the
/// watermark lives in notify_state. The first scan ever only sets a floor:
/// history from before notifications were on is not replayed.
std::vector<Message> scanRemediations(storage::Store& store, int64_t now_ms, const std::string& link_base);

/// unfixed_critical messages for `target`: critical issues open longer than
/// its unfixed_after, or at once when a remediation for them failed.
std::vector<Message> scanUnfixed(const std::vector<storage::OpenCriticalIssue>& open, const Target& target,
                                 int64_t now_ms, const std::string& link_base);

}  // namespace hale::aggregator::notify
