#pragma once
// Streaming build-log diagnosis: feed the log in chunks of any size, then ask
// for a Diagnosis. Memory stays bounded whatever the log size: lines are capped
// at ClassifierLimits::max_line bytes, and only a bounded evidence list, one
// summary per knowledge-base entry and a short tail are kept.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/ci/knowledge_base.h"

namespace hale::agent::ci {

struct ClassifierLimits {
  size_t max_line = 64 * 1024;     ///< longer lines are matched on their first max_line bytes
  size_t max_evidence = 200;       ///< matched lines remembered (the most recent ones)
  size_t max_evidence_text = 400;  ///< bytes of each evidence line kept for output
  size_t tail_bytes = 16 * 1024;   ///< bytes of the end of the log kept
  size_t max_failed_tests = 64;
  size_t max_output_evidence = 8;  ///< evidence lines placed in a Diagnosis
  int window_before = -1;          ///< model window: lines before the first error (-1: the model's)
  int window_after = -1;           ///< and after it
  size_t max_window_line = 512;    ///< bytes of each window line kept
};

struct EvidenceLine {
  uint64_t line = 0;  ///< 1-based
  std::string text;   ///< ANSI-stripped, valid UTF-8, truncated
  std::string entry_id;
  Category category = Category::None;
};

/// Which side of the classifier decided a diagnosis.
enum class DecidedBy { Pattern, Model };
std::string_view decidedByName(DecidedBy by);

struct Diagnosis {
  Category category = Category::None;
  std::optional<Category> secondary;
  double confidence = 0.0;  ///< 0..1: the pattern score's share, or the model's posterior
  DecidedBy decided_by = DecidedBy::Pattern;
  std::string entry_id;     ///< the strongest entry of the winning category (pattern decisions)
  std::string model_label;  ///< what the model said when it was asked ("" when it was not)
  double model_posterior = 0.0;
  std::vector<std::pair<std::string, double>> model_tokens;  ///< the tokens that weighed most, strongest first
  std::string refused;  ///< permission failures: the refused resource (registry, repository, URL, secret)
  std::string explanation;
  Remedy remedy = Remedy::None;
  std::string cache;  ///< cache hint of that entry (clear-cache)
  std::vector<EvidenceLine> evidence;
  std::vector<std::string> failed_tests;  ///< names extracted from test-runner output
  uint64_t lines = 0;
  uint64_t bytes = 0;
};

class Classifier {
 public:
  /// `kb` must be compiled and outlive the classifier.
  explicit Classifier(const KnowledgeBase& kb, ClassifierLimits limits = {});

  /// Feeds raw log bytes. `stream` (0 or 1) keeps partial lines of stdout and
  /// stderr apart when both are fed; line numbers count completed lines overall.
  void feed(std::string_view data, int stream = 0);
  /// Completes any partial lines (called by diagnose()).
  void finish();
  /// Weighs the evidence gathered so far; may be called more than once.
  Diagnosis diagnose();
  /// The caller knows that the step failed (a non-zero exit status): the
  /// diagnosis is then never `none`, and `unknown` when nothing names a cause.
  void markStepFailed() { step_failed_ = true; }

  /// The lines the model reads: around the first error line, else the last
  /// lines of the log. Each with its 1-based line number.
  std::vector<std::pair<uint64_t, std::string>> modelWindow() const;

  /// The last bytes of the log (cleaned), for attempt records.
  const std::string& tail() const { return tail_; }
  uint64_t lineCount() const { return lines_; }

 private:
  struct EntryStats {
    uint64_t count = 0;
    uint64_t last_line = 0;
    double best_weight = 0.0;
    bool asserted = false;  // matched outside a notice (warning, retry) line
  };
  struct Scores {
    std::vector<double> score;     // per category
    std::vector<int> best_entry;   // per category, -1 if none
    bool failure_verdict = false;  // a step-failure marker (not a mere error line) was seen
  };
  struct Carry {
    std::string text;
    bool discarding = false;  // past max_line: drop bytes until the next newline
  };

  void feedStream(std::string_view data, Carry& carry);
  void feedWaiting();
  void scanBulk(std::string_view text);
  void scanClean(std::string_view text);
  bool processLine(std::string_view line);
  void openWindow(std::string_view text, size_t start, std::string_view line);
  size_t collectAfter(std::string_view text, size_t from);
  void addEvidence(std::string_view line, const PatternEntry& entry);
  void keepTail(std::string_view text);
  void collectFailedTest(std::string_view line);
  Scores categoryScores() const;
  void decide(const Scores& scores, Diagnosis& d) const;
  bool askModel(const Scores& scores, const std::vector<std::string>& allowed, bool failed, Diagnosis& d) const;
  void fillPatternVerdict(const Scores& scores, size_t top, Diagnosis& d) const;
  std::vector<EvidenceLine> windowEvidence(const Diagnosis& d) const;

  const KnowledgeBase& kb_;
  ClassifierLimits limits_;
  Carry carry_[2];
  std::string scratch_;
  std::vector<int> hits_;
  std::vector<EntryStats> stats_;
  std::deque<EvidenceLine> evidence_;
  std::vector<std::string> failed_tests_;
  std::string tail_;
  uint64_t lines_ = 0;
  uint64_t bytes_ = 0;
  std::vector<std::pair<int, std::string>> waiting_;  // input that arrived while the automata were built
  size_t waiting_bytes_ = 0;
  bool step_failed_ = false;
  std::vector<std::pair<uint64_t, std::string>> window_;  // lines around the first error
  bool window_open_ = false;
  size_t window_error_index_ = 0;  // the first error line's place in window_
  int after_needed_ = 0;
};

/// Removes ANSI escape sequences and carriage returns, keeping newlines.
/// Appends to `out`; returns false (appending nothing) when `text` is already clean.
bool cleanLogText(std::string_view text, std::string& out);

/// Convenience: diagnoses a whole file ("-" = stdin) in 1 MiB reads.
/// Returns false and sets `error` when the file cannot be read.
bool diagnoseFile(const std::string& path, Classifier& classifier, std::string* error);

}  // namespace hale::agent::ci
