#include "agent/core/result_pipeline.h"

#include "shared/util/log.h"

namespace hale::agent {

ResultPipeline::ResultPipeline(state::StateStore& store, remedies::Engine& engine, ResultSink& sink)
    : tracker_(store), engine_(engine), sink_(sink) {}

const wire::IssueRecord* ResultPipeline::openIssue(const std::string& check) const {
  const auto it = tracker_.open().find(check);
  return it == tracker_.open().end() ? nullptr : &it->second;
}

Result<std::optional<wire::IssueRecord>> ResultPipeline::feed(const checks::CommonSettings& settings,
                                                              const wire::ResultRecord& observed) {
  wire::ResultRecord record = observed;
  anomalies_.apply(settings, record);
  log::debug("check", record.message,
             {{"check", record.check}, {"status", std::string(wire::statusName(record.status))}});
  sink_.onRecord(record);
  try {
    auto event = tracker_.observe(settings, record);
    if (event) {
      log::info("issue", std::string("issue ") + std::string(wire::issueStateName(event->state)),
                {{"check", event->check},
                 {"issue", std::to_string(event->issue_id)},
                 {"status", std::string(wire::statusName(event->status))},
                 {"message", event->message}});
      sink_.onIssueEvent(*event);
      engine_.onIssue(*event, record.kind);
    } else if (record.status != wire::CheckStatus::Ok) {
      // Still failing after its plan healed it (the issue closes only after pass_after good results).
      if (const auto* open = openIssue(record.check)) engine_.onRelapse(*open, record.kind);
    }
    return event;
  } catch (const std::exception& e) {
    return makeError(e.what());
  }
}

}  // namespace hale::agent
