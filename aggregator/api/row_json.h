#pragma once
// JSON of stored rows that more than one resource shows (a node's detail
// embeds its issues and remediations).
#include "aggregator/health/health.h"
#include "aggregator/storage/issues.h"
#include "aggregator/storage/nodes.h"
#include "aggregator/storage/remediations.h"

#include <nlohmann/json.hpp>

namespace hale::aggregator::api {

nlohmann::json issueJson(const storage::IssueRow& row);
nlohmann::json remediationJson(const storage::RemediationRow& row);
/// A node with its liveness at `now_ms` and its score when it has one.
nlohmann::json nodeJson(const storage::NodeRow& n, int64_t now_ms, const health::Params& params,
                        const health::NodeHealth* scored);

}  // namespace hale::aggregator::api
