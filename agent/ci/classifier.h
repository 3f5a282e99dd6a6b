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
};

struct EvidenceLine {
  uint64_t line = 0;  ///< 1-based
  std::string text;   ///< ANSI-stripped, valid UTF-8, truncated
  std::string entry_id;
  Category category = Category::None;
};

struct Diagnosis {
  Category category = Category::None;
  std::optional<Category> secondary;
  double confidence = 0.0;  ///< 0..1
  std::string entry_id;     ///< the strongest entry of the winning category
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

  /// The last bytes of the log (cleaned), for attempt records.
  const std::string& tail() const { return tail_; }
  uint64_t lineCount() const { return lines_; }

 private:
  struct EntryStats {
    uint64_t count = 0;
    uint64_t last_line = 0;
    double best_weight = 0.0;
  };
  struct Carry {
    std::string text;
    bool discarding = false;  // past max_line: drop bytes until the next newline
  };

  void feedStream(std::string_view data, Carry& carry);
  void feedWaiting();
  void scanBulk(std::string_view text);
  void scanClean(std::string_view text);
  void processLine(std::string_view line);
  void addEvidence(std::string_view line, const PatternEntry& entry);
  void keepTail(std::string_view text);
  void collectFailedTest(std::string_view line);
  std::vector<double> categoryScores(std::vector<int>& best_entry) const;

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
};

/// Removes ANSI escape sequences and carriage returns, keeping newlines.
/// Appends to `out`; returns false (appending nothing) when `text` is already clean.
bool cleanLogText(std::string_view text, std::string& out);

/// Convenience: diagnoses a whole file ("-" = stdin) in 1 MiB reads.
/// Returns false and sets `error` when the file cannot be read.
bool diagnoseFile(const std::string& path, Classifier& classifier, std::string* error);

}  // namespace hale::agent::ci
