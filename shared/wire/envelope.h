#pragma once
// Building and checking telemetry envelopes. The FlatBuffers verifier checks
// structure only (about half of single-byte corruptions still verify), so
// every value the aggregator will use is validated here too.
#include "schemas/telemetry_generated.h"
#include "shared/util/result.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hale::wire {

inline constexpr size_t kMaxEnvelopeBytes = 256 * 1024;
inline constexpr size_t kMaxResultsPerBatch = 1000;
inline constexpr size_t kMaxMetricsPerResult = 64;
inline constexpr size_t kMaxTextBytes = 4096;

struct MetricValue {
  std::string name;
  double value = 0;
};

/// One check result as both binaries hold it in memory.
struct ResultRecord {
  std::string check;
  std::string kind;
  CheckStatus status = CheckStatus::Unknown;
  Component component = Component::Compute;
  std::string message;
  std::vector<MetricValue> metrics;
  int64_t observed_at_ms = 0;
  uint32_t duration_us = 0;
};

struct HeartbeatRecord {
  uint64_t uptime_s = 0;
  std::string agent_version;
  uint32_t interval_ms = 0;
  uint32_t checks_total = 0;
  uint32_t outbox_depth = 0;
  uint64_t outbox_evicted = 0;
  uint64_t outbox_first_seq = 0;
};

struct IssueRecord {
  uint64_t issue_id = 0;  ///< per node, never reused
  std::string check;
  IssueState state = IssueState::Opened;
  CheckStatus status = CheckStatus::Unknown;  ///< the check's status at this event
  Component component = Component::Compute;
  CheckStatus severity = CheckStatus::Crit;  ///< the check's configured weight
  std::string message;
  int64_t opened_at_ms = 0;
  int64_t closed_at_ms = 0;  ///< 0 while open
};

struct BuildRecord {
  uint64_t build_id = 0;  ///< one per `hale-agent exec` run, per node
  uint32_t attempt = 1;
  std::string command;
  int32_t exit_code = 0;
  std::string category;  ///< "none" when the attempt succeeded
  std::string secondary_category;
  float confidence = 0;
  std::string remedy;
  uint32_t duration_ms = 0;
  std::vector<std::string> evidence;  ///< "line N: text", at most 16
  int64_t at_ms = 0;
};

/// One remediation decision (fired, skipped, dry-run, executed, healed...).
struct RemediationRecord {
  uint64_t attempt_id = 0;  ///< 0 for decisions taken before an attempt exists (skipped)
  uint64_t issue_id = 0;
  std::string check;
  std::string action;
  RemediationOutcome outcome = RemediationOutcome::Fired;
  std::string reason;  ///< why, or what ran (argv, output tail); cut to kMaxTextBytes
  int32_t exit_code = 0;
  uint32_t duration_ms = 0;
  int64_t at_ms = 0;
};

struct EnvelopeHeader {
  std::string node;
  std::string region;
  uint64_t seq = 0;
  int64_t sent_at_ms = 0;
};

std::vector<uint8_t> buildHeartbeat(const EnvelopeHeader& header, const HeartbeatRecord& hb);
std::vector<uint8_t> buildCheckBatch(const EnvelopeHeader& header, std::span<const ResultRecord> results);

std::vector<uint8_t> buildIssueEvent(const EnvelopeHeader& header, const IssueRecord& issue);
IssueRecord readIssueEvent(const IssueEvent& event);
std::vector<uint8_t> buildRemediationEvent(const EnvelopeHeader& header, const RemediationRecord& event);
RemediationRecord readRemediationEvent(const RemediationEvent& event);
std::string_view remediationOutcomeName(RemediationOutcome outcome);
HeartbeatRecord readHeartbeat(const Heartbeat& heartbeat);
std::vector<uint8_t> buildBuildEvent(const EnvelopeHeader& header, const BuildRecord& build);
BuildRecord readBuildEvent(const BuildEvent& event);

/// Verifies structure and content. When `topic_region`/`topic_node` are given,
/// the envelope must name the same node and region as the topic it came on.
/// The returned pointer lives as long as `bytes`.
Result<const Envelope*> verifyEnvelope(std::span<const uint8_t> bytes, std::string_view topic_region = {},
                                       std::string_view topic_node = {});

/// Reads a verified CheckBatch into records.
std::vector<ResultRecord> readCheckBatch(const CheckBatch& batch);

std::string_view statusName(CheckStatus status);
std::string_view issueStateName(IssueState state);
std::string_view componentName(Component component);
/// Case-sensitive lower-case names; nullopt when unknown.
std::optional<CheckStatus> parseStatus(std::string_view name);
std::optional<Component> parseComponent(std::string_view name);

}  // namespace hale::wire
