#pragma once
// Watch mode: classifies build logs and JUnit XML reports dropped into
// directories (by CI jobs that ran without `exec`, or that upload their
// reports). A log gets the same diagnosis as `diagnose`; a JUnit report gets
// its test names, failures and flaky tests, across the reports of one run:
// the reports written into one directory without a pause of `run_gap`.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "agent/ci/exec_command.h"
#include "agent/ci/junit_report.h"
#include "shared/config/config.h"
#include "shared/util/result.h"
#include "shared/wire/envelope.h"

namespace hale::agent::ci {

struct WatchedFile {
  std::string path;
  bool junit = false;
  Diagnosis diagnosis;
  std::optional<JUnitSummary> tests;  ///< JUnit: the run so far
};

class BuildFileClassifier {
 public:
  explicit BuildFileClassifier(const KnowledgeBase& kb, std::chrono::milliseconds run_gap = std::chrono::minutes(30))
      : kb_(kb), run_gap_(run_gap) {}

  /// Classifies one completed file; an error message when it cannot be read.
  Result<WatchedFile> classify(const std::string& path);

 private:
  struct Run {
    JUnitParser parser;
    std::chrono::steady_clock::time_point last;
  };
  const KnowledgeBase& kb_;
  std::chrono::milliseconds run_gap_;
  std::map<std::string, Run> runs_;  // by directory
};

/// JUnit reports are recognised by name (*.xml) or by their first bytes.
bool looksLikeJUnit(const std::string& path);
/// A diagnosis made from test results alone: test, flaky or none.
Diagnosis diagnosisFromTests(const JUnitSummary& tests);
/// The record stored and sent for a watched file (command "watch PATH").
BuildAttempt attemptFor(const WatchedFile& file);
/// One line for people: "PATH: category (0.90) explanation".
std::string watchedFileToText(const WatchedFile& file);
std::string watchedFileToJson(const WatchedFile& file);

/// The record stored in the builds table and sent as a BuildEvent.
wire::BuildRecord toBuildRecord(const BuildAttempt& attempt, uint64_t build_id, int64_t at_ms);

/// [builds] of the agent configuration: directories the running agent watches.
struct WatchSettings {
  std::vector<std::string> dirs;
  std::vector<std::string> patterns;           ///< empty: defaultPatternDirs()
  std::chrono::milliseconds poll_interval{0};  ///< 0: inotify
  std::chrono::milliseconds run_gap = std::chrono::minutes(30);
};
std::span<const config::FieldSpec> buildsFields();
WatchSettings watchSettingsFrom(const config::Fields& fields);

/// `hale-agent diagnose --watch DIR... [--json] [--patterns P]... [--poll DUR] [--run-gap DUR]`:
/// runs until SIGINT/SIGTERM; `record` (may be empty) gets every classified file.
int runWatchCommand(const std::vector<std::string>& args, const std::function<void(const BuildAttempt&)>& record);

}  // namespace hale::agent::ci
