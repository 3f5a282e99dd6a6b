#pragma once
// `hale-agent patterns train`: trains the learned fallback (failure_model.h)
// from labelled logs, deterministically: the same logs and labels give the
// same model file, byte for byte, wherever they are on disk.
//
//   hale-agent patterns train --labels TSV [--labels TSV]... --out FILE
//       [--patterns DIR|FILE]... [--window BEFORE,AFTER] [--smoothing A]
//       [--threshold P] [--min-docs N] [--folds K]
//
// A labels file is either a corpus labels.tsv (header "file category ...
// source_url ...", paths relative to it) or rows "PATH<TAB>CATEGORY[<TAB>SOURCE]"
// (what `scripts/eval-classifier --list training` prints). --folds K also
// reports K-fold cross-validated accuracy of patterns and model together,
// folds grouped by source repository so that no project is on both sides.
#include <string>
#include <vector>

#include "agent/ci/failure_model.h"
#include "agent/ci/knowledge_base.h"

namespace hale::agent::ci {

struct LabelledLog {
  std::string path;
  std::string label;   ///< corpus category: dependency, ..., resource, none, unknown
  std::string source;  ///< source URL or project: logs of one source share a fold
};

/// Reads a labels file (either form); throws config::ConfigError (file:line:col).
std::vector<LabelledLog> readLabels(const std::string& path);

struct TrainOptions {
  int before = 1;
  int after = 4;
  double smoothing = 0.5;
  double threshold = 0.9;
  double evidence = 6.0;  ///< the likelihood counts at most this many tokens
  int min_docs = 2;       ///< tokens seen in fewer training logs are dropped
};

/// The tokens the model reads in one log (its window, found with `kb`'s patterns).
std::vector<std::string> logTokens(const KnowledgeBase& kb, const std::string& path, const TrainOptions& options);

struct TokenizedLog {
  LabelledLog log;
  std::vector<std::string> tokens;
};
std::vector<TokenizedLog> tokenizeLogs(const KnowledgeBase& kb, const std::vector<LabelledLog>& logs,
                                       const TrainOptions& options);
/// A model from already tokenised logs (no training-set hash).
FailureModel modelFrom(const std::vector<const TokenizedLog*>& docs, const TrainOptions& options);

/// Trains on `logs`; `kb` locates the window in each log. Throws
/// config::ConfigError when a log cannot be read or a label is unknown.
FailureModel trainModel(const KnowledgeBase& kb, const std::vector<LabelledLog>& logs, const TrainOptions& options);

/// `args` are the words after "patterns train". Returns 0, or 2 on a usage
/// or input error.
int runTrainCommand(const std::vector<std::string>& args);

}  // namespace hale::agent::ci
