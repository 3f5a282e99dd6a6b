#pragma once
// The one path every check result takes, in the daemon and in a drill:
// anomaly rules grade its metrics, the issue tracker applies hysteresis, and
// the remediation engine hears of opened issues and of relapses. Where
// results and issue events go besides the engine (telemetry, a drill's
// report) is the sink's business.
#include "agent/checks/anomaly.h"
#include "agent/checks/check.h"
#include "agent/issues/issue_tracker.h"
#include "agent/remedies/engine.h"
#include "shared/util/result.h"

#include <optional>

namespace hale::agent {

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  /// Every result, graded by the anomaly rules, before the issue tracker sees it.
  virtual void onRecord(const wire::ResultRecord& record) = 0;
  /// An issue this result opened or closed, before the engine hears of it.
  virtual void onIssueEvent(const wire::IssueRecord& event) = 0;
};

class ResultPipeline {
 public:
  ResultPipeline(state::StateStore& store, remedies::Engine& engine, ResultSink& sink);

  /// Feeds one result of the check configured with `settings`. Returns the
  /// issue event it caused, if any, or why the state database refused it.
  Result<std::optional<wire::IssueRecord>> feed(const checks::CommonSettings& settings,
                                                const wire::ResultRecord& observed);

  const issues::IssueTracker& tracker() const { return tracker_; }
  /// The open issue of `check`, or null.
  const wire::IssueRecord* openIssue(const std::string& check) const;

 private:
  checks::AnomalyTracker anomalies_;
  issues::IssueTracker tracker_;
  remedies::Engine& engine_;
  ResultSink& sink_;
};

}  // namespace hale::agent
