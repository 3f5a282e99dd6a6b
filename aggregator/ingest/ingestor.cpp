#include "aggregator/ingest/ingestor.h"

#include "shared/util/clock.h"
#include "shared/util/text.h"
#include "shared/wire/envelope.h"
#include "shared/wire/topics.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <span>

namespace hale::aggregator::ingest {

Ingestor::Ingestor(asio::io_context& io, storage::Store& store, Settings settings, const Clock& clock)
    : store_(store), settings_(settings), clock_(clock), timer_(io), regions_(store.nodes().regions()) {}

void Ingestor::onMessage(const std::string& topic, const std::string& payload) {
  ++counters_.received;
  const auto parsed = wire::parseNodeTopic(topic);
  if (!parsed) return reject("?", fmt::format("unexpected topic '{}'", sanitizeUtf8(topic.substr(0, 200))));
  if (parsed->kind == "telemetry") return handleTelemetry(parsed->region, parsed->node, payload);
  if (parsed->kind == "status") return handleStatus(parsed->region, parsed->node, payload);
  reject(parsed->node, fmt::format("unexpected topic kind '{}'", parsed->kind));
}

void Ingestor::reject(const std::string& sender, const std::string& why) {
  ++counters_.invalid;
  const long suppressed = reject_log_.allow(sender, clock_.monoNow());
  if (suppressed < 0) return;
  log::Fields fields{{"sender", sender}, {"reason", why}};
  if (suppressed > 0) fields.emplace_back("suppressed_since_last", std::to_string(suppressed));
  log::warn("ingest", "message rejected", fields);
}

void Ingestor::handleTelemetry(const std::string& region, const std::string& node, const std::string& payload) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  auto verified = wire::verifyEnvelope(bytes, region, node);
  if (!verified) return reject(node, verified.error().message);
  const wire::Envelope& env = **verified;
  if (auto known = regions_.find(node); known != regions_.end() && known->second != region)
    return reject(node, fmt::format("node belongs to region '{}', not '{}'", known->second, region));

  storage::IngestItem item;
  item.node = node;
  item.region = region;
  item.seq = env.seq();
  item.sent_at_ms = env.sent_at_ms();
  item.received_ms = nowMs();
  switch (env.payload_type()) {
    case wire::Payload::CheckBatch:
      item.results = wire::readCheckBatch(*env.payload_as_CheckBatch());
      break;
    case wire::Payload::Heartbeat:
      item.heartbeat = wire::readHeartbeat(*env.payload_as_Heartbeat());
      break;
    case wire::Payload::RemediationEvent:
      item.remediation = wire::readRemediationEvent(*env.payload_as_RemediationEvent());
      break;
    case wire::Payload::BuildEvent:
      item.build = wire::readBuildEvent(*env.payload_as_BuildEvent());
      break;
    case wire::Payload::IssueEvent:
      item.issue = wire::readIssueEvent(*env.payload_as_IssueEvent());
      break;
    default:
      break;  // stored in the ledger (so the sequence stays contiguous); content used by later versions
  }
  regions_.emplace(node, region);
  pending_.push_back(std::move(item));
  if (pending_.size() >= settings_.batch_max)
    flush();
  else
    armTimer();
}

void Ingestor::handleStatus(const std::string& region, const std::string& node, const std::string& payload) {
  if (payload.empty()) return;  // a cleared retained message
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("state") || !j["state"].is_string())
    return reject(node, "status message is not {\"state\": \"online\"|\"offline\"}");
  const std::string state = j["state"].get<std::string>();
  if (state != "online" && state != "offline") return reject(node, "status state must be online or offline");
  if (auto known = regions_.find(node); known != regions_.end() && known->second != region)
    return reject(node, fmt::format("node belongs to region '{}', not '{}'", known->second, region));
  // Keep ordering with telemetry: write pending data first.
  flush();
  try {
    store_.nodes().setOnline(node, region, state == "online", nowMs());
    regions_.emplace(node, region);
    ++counters_.status_updates;
  } catch (const std::exception& e) {
    ++counters_.store_errors;
    log::error("ingest", "cannot store status", {{"node", node}, {"error", e.what()}});
  }
}

void Ingestor::armTimer() {
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_.expires_after(settings_.batch_interval);
  timer_.async_wait([this](std::error_code ec) {
    timer_armed_ = false;
    if (!ec) flush();
  });
}

void Ingestor::flush() {
  if (pending_.empty()) return;
  try {
    const auto stats = store_.ingest(pending_);
    counters_.stored += stats.stored;
    counters_.duplicates += stats.duplicates;
    ++counters_.batches;
    std::vector<storage::IngestItem> committed;
    committed.swap(pending_);
    recordLatency(committed);
    advanceAcks(committed);
  } catch (const std::exception& e) {
    // Keep the batch and retry on the next tick: a busy or full disk must not lose data.
    ++counters_.store_errors;
    log::error("ingest", "cannot store batch; will retry",
               {{"messages", std::to_string(pending_.size())}, {"error", e.what()}});
    armTimer();
  }
}

// From the agent's clock to our commit: across hosts it includes clock skew,
// so a negative value (agent clock ahead) counts as 0.
void Ingestor::recordLatency(const std::vector<storage::IngestItem>& committed) {
  const int64_t now = nowMs();
  for (const auto& item : committed) {
    const int64_t ms = std::max<int64_t>(0, now - item.sent_at_ms);
    size_t bucket = 0;
    while (bucket < std::size(kLatencyBuckets) && static_cast<double>(ms) / 1000.0 > kLatencyBuckets[bucket]) ++bucket;
    ++counters_.latency[bucket];
    counters_.latency_sum_ms += static_cast<uint64_t>(ms);
  }
}

// The end-to-end ack: per node, the highest seq below which everything is
// committed. Agents keep messages until they see it. Seqs the agent evicted
// from a full outbox never arrive; its heartbeat names the lowest seq it still
// holds, so the ack can move past what is lost for good.
void Ingestor::advanceAcks(const std::vector<storage::IngestItem>& committed) {
  std::unordered_map<std::string, std::string> touched;  // node -> region
  for (const auto& item : committed) {
    touched.emplace(item.node, item.region);
    if (!item.heartbeat) continue;
    auto& state = acks_[item.node];
    const uint64_t first = item.heartbeat->outbox_first_seq;
    const uint64_t floor = first ? first - 1 : item.seq - 1;
    if (!state.loaded) state = AckState{true, store_.nodes().contiguousFrom(item.node, 0), 0};
    state.acked = std::max(state.acked, floor);
  }
  for (const auto& [node, region] : touched) {
    auto& state = acks_[node];
    state.acked = store_.nodes().contiguousFrom(node, state.loaded ? state.acked : 0);
    state.loaded = true;
    if (state.acked != state.published && state.acked > 0 && on_ack_) {
      state.published = state.acked;
      on_ack_(region, node, state.acked);
    }
  }
}

}  // namespace hale::aggregator::ingest
