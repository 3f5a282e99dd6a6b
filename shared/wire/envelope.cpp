#include "shared/wire/envelope.h"

#include "shared/util/text.h"
#include "shared/wire/topics.h"

#include <fmt/format.h>

#include <cmath>

namespace hale::wire {
namespace {

std::vector<uint8_t> finish(flatbuffers::FlatBufferBuilder& fbb, const EnvelopeHeader& h, Payload type,
                            flatbuffers::Offset<void> payload) {
  auto node = fbb.CreateString(h.node);
  auto region = fbb.CreateString(h.region);
  auto env = CreateEnvelope(fbb, 1, node, region, h.seq, h.sent_at_ms, type, payload);
  FinishEnvelopeBuffer(fbb, env);
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

Error invalid(std::string what) { return Error{std::move(what), 0}; }

// A text field is fine when absent or a bounded, valid UTF-8 string.
bool textOk(const flatbuffers::String* s, size_t max = kMaxTextBytes) {
  return !s || (s->size() <= max && isValidUtf8(s->string_view()));
}

bool statusOk(CheckStatus s) { return s >= CheckStatus::MIN && s <= CheckStatus::MAX; }
bool componentOk(Component c) { return c >= Component::MIN && c <= Component::MAX; }

// Returns why a check result is unusable, or nullptr when it is fine.
const char* checkResultProblem(const CheckResult& r) {
  if (!r.check() || !isValidId(r.check()->string_view())) return "check result without a valid check name";
  if (!textOk(r.kind(), 64) || !textOk(r.message())) return "check result text too long or not UTF-8";
  if (!statusOk(r.status())) return "check result status out of range";
  if (!componentOk(r.component())) return "check result component out of range";
  if (r.metrics()) {
    if (r.metrics()->size() > kMaxMetricsPerResult) return "too many metrics in a check result";
    for (const auto* m : *r.metrics()) {
      if (!m->name() || !isValidId(m->name()->string_view())) return "metric without a valid name";
      if (!std::isfinite(m->value())) return "metric value is not finite";
    }
  }
  return nullptr;
}

Result<bool> checkPayload(const Envelope& env) {
  switch (env.payload_type()) {
    case Payload::Heartbeat: {
      const auto* hb = env.payload_as_Heartbeat();
      if (!hb || !textOk(hb->agent_version(), 64)) return invalid("malformed heartbeat");
      return true;
    }
    case Payload::CheckBatch: {
      const auto* batch = env.payload_as_CheckBatch();
      if (!batch || !batch->results()) return invalid("check batch without results");
      if (batch->results()->size() > kMaxResultsPerBatch) return invalid("check batch too large");
      for (const auto* r : *batch->results())
        if (const char* problem = checkResultProblem(*r)) return invalid(problem);
      return true;
    }
    case Payload::IssueEvent: {
      const auto* e = env.payload_as_IssueEvent();
      if (!e || e->issue_id() == 0 || !e->check() || !isValidId(e->check()->string_view()) || !textOk(e->message()))
        return invalid("malformed issue event");
      if (e->state() < IssueState::MIN || e->state() > IssueState::MAX || !statusOk(e->status()) ||
          !statusOk(e->severity()) || !componentOk(e->component()))
        return invalid("issue event enum out of range");
      return true;
    }
    case Payload::RemediationEvent: {
      const auto* e = env.payload_as_RemediationEvent();
      if (!e || !textOk(e->check(), 64) || !textOk(e->action(), 64) || !textOk(e->reason()))
        return invalid("malformed remediation event");
      if (e->outcome() < RemediationOutcome::MIN || e->outcome() > RemediationOutcome::MAX)
        return invalid("remediation outcome out of range");
      return true;
    }
    case Payload::BuildEvent: {
      const auto* e = env.payload_as_BuildEvent();
      if (!e || !textOk(e->command()) || !textOk(e->category(), 64) || !textOk(e->secondary_category(), 64) ||
          !textOk(e->remedy(), 256))
        return invalid("malformed build event");
      if (e->evidence()) {
        if (e->evidence()->size() > 64) return invalid("too much build evidence");
        for (const auto* line : *e->evidence())
          if (!textOk(line)) return invalid("build evidence line too long or not UTF-8");
      }
      return true;
    }
    case Payload::Inventory: {
      const auto* inv = env.payload_as_Inventory();
      if (!inv || !textOk(inv->hostname(), 255) || !textOk(inv->os(), 255) || !textOk(inv->kernel(), 255))
        return invalid("malformed inventory");
      if (inv->checks() && inv->checks()->size() > kMaxResultsPerBatch)
        return invalid("inventory lists too many checks");
      return true;
    }
    case Payload::NONE:
      return invalid("envelope without payload");
  }
  // A newer agent's payload kind: structurally fine, but this aggregator cannot use it.
  return invalid(fmt::format("unknown payload type {}", static_cast<int>(env.payload_type())));
}

}  // namespace

std::vector<uint8_t> buildHeartbeat(const EnvelopeHeader& header, const HeartbeatRecord& hb) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto version = fbb.CreateString(hb.agent_version);
  auto payload = CreateHeartbeat(fbb, hb.uptime_s, version, hb.interval_ms, hb.checks_total, hb.outbox_depth,
                                 hb.outbox_evicted, hb.outbox_first_seq);
  return finish(fbb, header, Payload::Heartbeat, payload.Union());
}

std::vector<uint8_t> buildCheckBatch(const EnvelopeHeader& header, std::span<const ResultRecord> results) {
  flatbuffers::FlatBufferBuilder fbb(1024);
  std::vector<flatbuffers::Offset<CheckResult>> offsets;
  offsets.reserve(results.size());
  for (const auto& r : results) {
    std::vector<flatbuffers::Offset<Metric>> metrics;
    for (const auto& m : r.metrics) metrics.push_back(CreateMetric(fbb, fbb.CreateString(m.name), m.value));
    auto check = fbb.CreateString(r.check);
    auto kind = fbb.CreateString(r.kind);
    auto message = fbb.CreateString(r.message);
    auto mvec = fbb.CreateVector(metrics);
    offsets.push_back(
        CreateCheckResult(fbb, check, kind, r.status, r.component, message, mvec, r.observed_at_ms, r.duration_us));
  }
  auto batch = CreateCheckBatch(fbb, fbb.CreateVector(offsets));
  return finish(fbb, header, Payload::CheckBatch, batch.Union());
}

std::vector<uint8_t> buildIssueEvent(const EnvelopeHeader& header, const IssueRecord& issue) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto check = fbb.CreateString(issue.check);
  auto message = fbb.CreateString(issue.message);
  auto payload = CreateIssueEvent(fbb, issue.issue_id, check, issue.state, issue.status, issue.component,
                                  issue.severity, message, issue.opened_at_ms, issue.closed_at_ms);
  return finish(fbb, header, Payload::IssueEvent, payload.Union());
}

IssueRecord readIssueEvent(const IssueEvent& e) {
  IssueRecord r;
  r.issue_id = e.issue_id();
  r.check = e.check() ? e.check()->str() : "";
  r.state = e.state();
  r.status = e.status();
  r.component = e.component();
  r.severity = e.severity();
  r.message = e.message() ? e.message()->str() : "";
  r.opened_at_ms = e.opened_at_ms();
  r.closed_at_ms = e.closed_at_ms();
  return r;
}

namespace {
// Cuts at a UTF-8 character boundary so the verifier's UTF-8 check still passes.
std::string cutText(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}
}  // namespace

std::vector<uint8_t> buildBuildEvent(const EnvelopeHeader& header, const BuildRecord& b) {
  flatbuffers::FlatBufferBuilder fbb(512);
  std::vector<flatbuffers::Offset<flatbuffers::String>> evidence;
  for (const auto& line : b.evidence) evidence.push_back(fbb.CreateString(cutText(line, kMaxTextBytes)));
  auto payload =
      CreateBuildEvent(fbb, b.build_id, b.attempt, fbb.CreateString(cutText(b.command, kMaxTextBytes)), b.exit_code,
                       fbb.CreateString(b.category), fbb.CreateString(b.secondary_category), b.confidence,
                       fbb.CreateString(b.remedy), b.duration_ms, fbb.CreateVector(evidence), b.at_ms);
  return finish(fbb, header, Payload::BuildEvent, payload.Union());
}

BuildRecord readBuildEvent(const BuildEvent& e) {
  BuildRecord b;
  b.build_id = e.build_id();
  b.attempt = e.attempt();
  b.command = e.command() ? e.command()->str() : "";
  b.exit_code = e.exit_code();
  b.category = e.category() ? e.category()->str() : "";
  b.secondary_category = e.secondary_category() ? e.secondary_category()->str() : "";
  b.confidence = e.confidence();
  b.remedy = e.remedy() ? e.remedy()->str() : "";
  b.duration_ms = e.duration_ms();
  if (e.evidence())
    for (const auto* line : *e.evidence()) b.evidence.push_back(line->str());
  b.at_ms = e.at_ms();
  return b;
}

std::vector<uint8_t> buildRemediationEvent(const EnvelopeHeader& header, const RemediationRecord& e) {
  flatbuffers::FlatBufferBuilder fbb(512);
  auto check = fbb.CreateString(cutText(e.check, 64));
  auto action = fbb.CreateString(cutText(e.action, 64));
  auto reason = fbb.CreateString(cutText(e.reason, kMaxTextBytes));
  auto payload = CreateRemediationEvent(fbb, e.attempt_id, e.issue_id, check, action, e.outcome, reason, e.exit_code,
                                        e.duration_ms, e.at_ms);
  return finish(fbb, header, Payload::RemediationEvent, payload.Union());
}

RemediationRecord readRemediationEvent(const RemediationEvent& e) {
  RemediationRecord r;
  r.attempt_id = e.attempt_id();
  r.issue_id = e.issue_id();
  r.check = e.check() ? e.check()->str() : "";
  r.action = e.action() ? e.action()->str() : "";
  r.outcome = e.outcome();
  r.reason = e.reason() ? e.reason()->str() : "";
  r.exit_code = e.exit_code();
  r.duration_ms = e.duration_ms();
  r.at_ms = e.at_ms();
  return r;
}

std::string_view remediationOutcomeName(RemediationOutcome outcome) {
  const char* name = EnumNameRemediationOutcome(outcome);
  return name && *name ? name : "unknown";
}

HeartbeatRecord readHeartbeat(const Heartbeat& hb) {
  HeartbeatRecord rec;
  rec.uptime_s = hb.uptime_s();
  rec.agent_version = hb.agent_version() ? hb.agent_version()->str() : "";
  rec.interval_ms = hb.interval_ms();
  rec.checks_total = hb.checks_total();
  rec.outbox_depth = hb.outbox_depth();
  rec.outbox_evicted = hb.outbox_evicted();
  rec.outbox_first_seq = hb.outbox_first_seq();
  return rec;
}

Result<const Envelope*> verifyEnvelope(std::span<const uint8_t> bytes, std::string_view topic_region,
                                       std::string_view topic_node) {
  if (bytes.size() < 8) return invalid("buffer too short");
  if (bytes.size() > kMaxEnvelopeBytes)
    return invalid(fmt::format("buffer of {} bytes exceeds the limit", bytes.size()));
  if (!EnvelopeBufferHasIdentifier(bytes.data())) return invalid("not a Hale telemetry envelope (file identifier)");
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 16;
  opts.max_tables = 100000;
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), opts);
  if (!VerifyEnvelopeBuffer(verifier)) return invalid("envelope failed FlatBuffers verification");
  const Envelope* env = GetEnvelope(bytes.data());
  if (!env->node() || !isValidId(env->node()->string_view())) return invalid("envelope without a valid node id");
  if (!env->region() || !isValidId(env->region()->string_view())) return invalid("envelope without a valid region");
  if (!topic_node.empty() && env->node()->string_view() != topic_node)
    return invalid(
        fmt::format("envelope names node '{}' but came on the topic of '{}'", env->node()->string_view(), topic_node));
  if (!topic_region.empty() && env->region()->string_view() != topic_region)
    return invalid(fmt::format("envelope names region '{}' but came on a topic of region '{}'",
                               env->region()->string_view(), topic_region));
  if (env->seq() == 0) return invalid("envelope sequence number must start at 1");
  auto payload = checkPayload(*env);
  if (!payload) return payload.error();
  return env;
}

std::vector<ResultRecord> readCheckBatch(const CheckBatch& batch) {
  std::vector<ResultRecord> out;
  if (!batch.results()) return out;
  out.reserve(batch.results()->size());
  for (const auto* r : *batch.results()) {
    ResultRecord rec;
    rec.check = r->check() ? r->check()->str() : "";
    rec.kind = r->kind() ? r->kind()->str() : "";
    rec.status = r->status();
    rec.component = r->component();
    rec.message = r->message() ? r->message()->str() : "";
    if (r->metrics())
      for (const auto* m : *r->metrics()) rec.metrics.push_back({m->name() ? m->name()->str() : "", m->value()});
    rec.observed_at_ms = r->observed_at_ms();
    rec.duration_us = r->duration_us();
    out.push_back(std::move(rec));
  }
  return out;
}

std::string_view statusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::Ok:
      return "ok";
    case CheckStatus::Warn:
      return "warn";
    case CheckStatus::Crit:
      return "crit";
    case CheckStatus::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view issueStateName(IssueState state) {
  switch (state) {
    case IssueState::Opened:
      return "opened";
    case IssueState::Updated:
      return "updated";
    case IssueState::Closed:
      return "closed";
  }
  return "opened";
}

std::string_view componentName(Component component) {
  switch (component) {
    case Component::Compute:
      return "compute";
    case Component::Storage:
      return "storage";
    case Component::Network:
      return "network";
    case Component::Security:
      return "security";
    case Component::Builds:
      return "builds";
  }
  return "compute";
}

std::optional<CheckStatus> parseStatus(std::string_view name) {
  for (auto s : {CheckStatus::Ok, CheckStatus::Warn, CheckStatus::Crit, CheckStatus::Unknown})
    if (statusName(s) == name) return s;
  return std::nullopt;
}

std::optional<Component> parseComponent(std::string_view name) {
  for (auto c : {Component::Compute, Component::Storage, Component::Network, Component::Security, Component::Builds})
    if (componentName(c) == name) return c;
  return std::nullopt;
}

}  // namespace hale::wire
