#pragma once
// JUnit XML reports (Surefire, Gradle, pytest --junitxml, jest-junit, go-junit-report):
// test names, failures, and flaky tests (failed, then passed in a later run or
// a Surefire <flakyFailure>). A small tolerant streaming parser: no DOM, no
// dependency, bounded memory; malformed input gives a partial summary, never a crash.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/ci/classifier.h"

namespace hale::agent::ci {

enum class TestOutcome { Passed, Failed, Skipped, Flaky };

struct JUnitSummary {
  uint64_t cases = 0;               ///< <testcase> elements seen (reruns counted each time)
  std::vector<std::string> failed;  ///< failed in their last run ("classname.name")
  std::vector<std::string> flaky;   ///< failed, then passed
  std::vector<std::string> passed;
  std::vector<std::string> skipped;
  std::map<std::string, std::string> messages;  ///< failure message per failed/flaky test (truncated)
  bool truncated = false;                       ///< limits reached: some tests are not listed
};

struct JUnitLimits {
  size_t max_tag = 64 * 1024;  ///< longer tags are skipped
  size_t max_tests = 20000;    ///< distinct test names tracked
  size_t max_message = 300;
};

class JUnitParser {
 public:
  explicit JUnitParser(JUnitLimits limits = {}) : limits_(limits) {}
  /// Feeds XML bytes; files may be fed in pieces of any size, and several
  /// reports (reruns) may be fed one after the other, each after startReport().
  void feed(std::string_view xml);
  /// Marks the start of another report file of the same run. Within one
  /// report, a test pytest-rerunfailures recorded more than once (a record
  /// per attempt, the earlier ones empty) and that passed last is flaky.
  void startReport();
  JUnitSummary summary() const;

 private:
  enum class Mode { Text, Tag, Comment, CData };
  struct Case {
    std::string name;
    bool failed = false, skipped = false, flaky = false;
    std::string message;
  };
  void handleTag(std::string_view tag);
  void openElement(std::string_view name, std::string_view attrs, bool self_closing);
  void finishCase();

  JUnitLimits limits_;
  Mode mode_ = Mode::Text;
  std::string tag_;
  bool tag_overflow_ = false;
  char quote_ = 0;
  std::string end_window_;  // last bytes seen in a comment or CDATA section
  std::optional<Case> case_;
  uint64_t cases_ = 0;
  bool truncated_ = false;
  bool pytest_suite_ = false;        // inside <testsuite name="pytest">
  std::set<std::string> in_report_;  // test names seen in the current report
  std::map<std::string, TestOutcome> outcomes_;
  std::map<std::string, std::string> messages_;
};

/// Parses a whole file; nullopt when it cannot be read.
std::optional<JUnitSummary> parseJUnitFile(const std::string& path, JUnitLimits limits = {});

/// flaky when tests flaked and none failed, test when any failed, none otherwise.
Category categoryOf(const JUnitSummary& summary);

/// Refines a log diagnosis with the step's test reports: failed test names
/// join d.failed_tests, and a log that only shows test failures becomes
/// "flaky" when the reports show every failed test passing on a rerun.
void refineWithJUnit(Diagnosis& d, const JUnitSummary& summary);

}  // namespace hale::agent::ci
