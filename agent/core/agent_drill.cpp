// Drills the daemon runs on a signed RunDrill command. The fault acts on the
// live target (the agent's own supervised child, the watched file system), so
// the agent's own scheduler, issue tracker and remediation engine detect and
// heal it exactly as they would a real failure, and their decisions go to the
// aggregator as usual; the drill adds one RemediationEvent (action "drill")
// with its verdict and one audit row. Kinds that need the check pointed at a
// test target (certificate, probes) are drilled with `hale-agent drill`.
#include "agent/core/agent.h"
#include "agent/drills/drill.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hale::agent {

struct ActiveDrill {
  explicit ActiveDrill(asio::io_context& io) : timer(io) {}
  std::string check;
  std::string nonce;
  drills::FaultPtr fault;
  std::string fault_text;
  int64_t started_ms = 0;
  uint64_t issue_id = 0;
  int64_t opened_ms = 0;
  std::chrono::steady_clock::time_point deadline;
  asio::steady_timer timer;
};

namespace {
constexpr auto kDrillPoll = std::chrono::milliseconds(50);
}

Result<std::string> Agent::startDrill(const std::string& name, const std::string& nonce) {
  if (name.empty()) return makeError("name the check to drill: the agent drills one check at a time");
  if (drill_) return makeError(fmt::format("a drill of '{}' is running", drill_->check));
  checks::Check* check = nullptr;
  for (auto& c : cfg_.checks)
    if (c->name() == name) check = c.get();
  if (!check) return makeError(fmt::format("no check named '{}'", name));
  const auto* kind = drills::findDrill(check->common().kind);
  if (!kind) return makeError(fmt::format("not drillable: no safe injection for a {} check", check->common().kind));
  auto injector = kind->make();
  if (!injector->needsHealthyBaseline())
    return makeError(
        fmt::format("the agent drills live targets only (process, disk); drill '{}' with `hale-agent drill`", name));
  if (pipeline_->openIssue(name)) return makeError("an issue is already open for this check");
  std::optional<drills::CheckTable> table;
  try {
    table = drills::findCheckTable(config::parseFile(cfg_.file), cfg_.file, name);
  } catch (const std::exception& e) {
    return makeError(e.what());
  }
  if (!table) return makeError(fmt::format("check '{}' is no longer in {}", name, cfg_.file));
  const checks::CheckEnv env{RealClock::instance(), cfg_.state_dir};
  auto drill = std::make_shared<ActiveDrill>(io_);
  drill->started_ms = unixMillisNow();
  auto fault = injector->inject({table->table, cfg_.file, *check, table->settings, env}, io_);
  if (!fault) return fault.error();
  drill->check = name;
  drill->nonce = nonce;
  drill->fault = std::move(*fault);
  drill->fault_text = drill->fault->describe();
  const auto& common = check->common();
  drill->deadline =
      std::chrono::steady_clock::now() + common.interval * (common.fail_after + 2) + std::chrono::minutes(2);
  drill_ = drill;
  log::info("drill", "injected", {{"check", name}, {"fault", drill->fault_text}});
  pollDrill();
  return fmt::format("drill of {}: {}", name, drill->fault_text);
}

void Agent::pollDrill() {
  auto d = drill_;
  if (!d) return;
  d->timer.expires_after(kDrillPoll);
  d->timer.async_wait([this, d](std::error_code ec) {
    if (ec || drill_ != d) return;
    if (!d->issue_id)
      if (const auto* open = pipeline_->openIssue(d->check)) {
        d->issue_id = open->issue_id;
        d->opened_ms = open->opened_at_ms;
      }
    const bool ended = d->issue_id && !engine_->busy(d->check);
    const bool timed_out = std::chrono::steady_clock::now() > d->deadline;
    if (!ended && !timed_out) return pollDrill();
    // Which step healed it: the engine's own audit rows for this check since the injection.
    std::string healed_by;
    int64_t healed_ms = 0;
    for (const auto& e : audit_.tail(200))
      if (e.actor == "agent" && e.subject == d->check && e.outcome == "healed" && e.at_ms >= d->started_ms) {
        const auto detail = nlohmann::json::parse(e.detail, nullptr, false);
        healed_by = detail.is_object() ? detail.value("step", std::string("?")) : "?";
        healed_ms = e.at_ms;
      }
    d->fault.reset();  // a fill file goes whatever happened
    nlohmann::json report{
        {"nonce", d->nonce}, {"fault", d->fault_text}, {"issue_id", d->issue_id}, {"healed", !healed_by.empty()}};
    std::string text;
    if (!healed_by.empty()) {
      report["healed_by"] = healed_by;
      report["detect_ms"] = d->opened_ms - d->started_ms;
      report["heal_ms"] = healed_ms - d->opened_ms;
      text = fmt::format("drill healed by {}: detected in {} ms, healed {} ms after the issue opened; {}", healed_by,
                         d->opened_ms - d->started_ms, healed_ms - d->opened_ms, d->fault_text);
    } else {
      text = fmt::format("drill not healed{}; {}", d->issue_id ? "" : " (no issue opened before the deadline)",
                         d->fault_text);
      if (d->issue_id) report["detect_ms"] = d->opened_ms - d->started_ms;
    }
    const int64_t now = unixMillisNow();
    try {
      audit_.append(now, "drill", "drill", d->check, healed_by.empty() ? "not_healed" : "healed", report.dump());
    } catch (const std::exception& e) {
      log::error("drill", "cannot write the audit log", {{"error", e.what()}});
    }
    wire::RemediationRecord rec;
    rec.issue_id = d->issue_id;
    rec.check = d->check;
    rec.action = "drill";
    rec.outcome = healed_by.empty() ? wire::RemediationOutcome::NotHealed : wire::RemediationOutcome::Healed;
    rec.reason = text;
    rec.at_ms = now;
    emitRemediation(rec);
    log::info("drill", healed_by.empty() ? "not healed" : "healed", {{"check", d->check}, {"report", text}});
    drill_.reset();
  });
}

}  // namespace hale::agent
