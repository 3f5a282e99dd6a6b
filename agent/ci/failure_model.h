#pragma once
// The learned fallback behind the patterns: multinomial naive Bayes over the
// tokens of the lines around the first error of a log. It is trained from a
// labelled corpus (`hale-agent patterns train`, agent/ci/model_trainer.h),
// stored as a versioned text file next to the patterns (config/patterns/
// model.tsv, integer counts only, so training twice gives the same bytes),
// and explains each prediction by the tokens that weighed most.
//
// File format (tab-separated; '#' lines are comments):
//   hale-failure-model  1                          format and version
//   training_set  <logs>  sha256:<hex>             what it was trained on
//   window  <before>  <after>                      lines around the first error
//   smoothing  <alpha>                             additive (Laplace) smoothing
//   threshold  <posterior>                         below it the answer is unknown
//   evidence  <tokens>                             likelihood scaled to at most this many tokens
//   classes  <name>...                             corpus categories
//   docs  <count>...                               training logs per class
//   token  <text>  <count>...                      one line per token
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::ci {

inline constexpr int kModelFormat = 1;

/// Lower-cased word tokens of one log line, with the variable parts replaced:
/// URLs, paths, hex ids and hashes, and numbers (three-digit numbers such as
/// HTTP statuses and exit codes are kept); digit runs inside words become '#'
/// ("TS2345" -> "ts#"). Appends to `out`.
void tokenizeLine(std::string_view line, std::vector<std::string>& out);

struct ModelPrediction {
  std::string label;                                    ///< most probable class ("" when the model has none)
  double posterior = 0.0;                               ///< of that class, 0..1
  std::vector<std::pair<std::string, double>> weights;  ///< tokens for `label`, strongest first
};

class FailureModel {
 public:
  /// Parses a model file; throws config::ConfigError with file:line:col.
  static FailureModel parse(std::string_view text, const std::string& file);
  /// Reads and parses `path`; throws config::ConfigError.
  static FailureModel load(const std::string& path);
  std::string serialize() const;

  /// Counts one training document; `label` is a class name.
  void addDocument(const std::string& label, const std::vector<std::string>& tokens);
  /// Drops tokens seen in fewer than `min_docs` documents (after all adds).
  void prune(int min_docs);

  /// The posterior over `allowed` classes (all when empty) and the `explain`
  /// tokens that pushed most towards the winner.
  ModelPrediction predict(const std::vector<std::string>& tokens, const std::vector<std::string>& allowed = {},
                          size_t explain = 5) const;

  const std::vector<std::string>& classes() const { return classes_; }
  bool empty() const { return total_docs_ == 0; }
  int before() const { return before_; }
  int after() const { return after_; }
  double threshold() const { return threshold_; }
  double evidence() const { return evidence_; }
  double smoothing() const { return alpha_; }
  const std::string& trainingHash() const { return training_hash_; }
  uint64_t trainingLogs() const { return training_logs_; }
  size_t vocabulary() const { return tokens_.size(); }

  void setWindow(int before, int after) { before_ = before, after_ = after; }
  void setThreshold(double threshold) { threshold_ = threshold; }
  void setEvidence(double tokens) { evidence_ = tokens; }
  void setSmoothing(double alpha) { alpha_ = alpha; }
  void setTrainingSet(uint64_t logs, std::string sha256_hex) {
    training_logs_ = logs;
    training_hash_ = std::move(sha256_hex);
  }

 private:
  struct TokenCounts {
    std::string token;
    std::vector<uint32_t> counts;  // per class
    uint32_t docs = 0;             // training only: documents containing it
  };
  size_t classIndex(const std::string& label);
  const TokenCounts* find(std::string_view token) const;

  std::vector<std::string> classes_;
  std::vector<uint64_t> docs_;       // per class
  std::vector<uint64_t> totals_;     // tokens per class
  std::vector<TokenCounts> tokens_;  // sorted by token
  uint64_t total_docs_ = 0;
  int before_ = 1;
  int after_ = 4;
  double alpha_ = 0.5;
  double threshold_ = 0.9;
  double evidence_ = 6.0;
  uint64_t training_logs_ = 0;
  std::string training_hash_;
};

}  // namespace hale::agent::ci
