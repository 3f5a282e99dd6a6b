// `hale-agent patterns train`: options, cross-validation report, model file.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>

#include "agent/ci/classifier.h"
#include "agent/ci/model_trainer.h"
#include "shared/config/config.h"
#include "shared/crypto/crypto.h"

namespace hale::agent::ci {
namespace {

constexpr std::string_view kUsage =
    "usage: hale-agent patterns train --labels TSV [--labels TSV]... --out FILE [--patterns DIR|FILE]...\n"
    "                                 [--window BEFORE,AFTER] [--smoothing A] [--threshold P]\n"
    "                                 [--evidence TOKENS] [--min-docs N] [--folds K]\n"
    "\n"
    "Trains the learned fallback of build-log diagnosis (naive Bayes over the tokens of\n"
    "the lines around the first error) from labelled logs and writes it to FILE\n"
    "(config/patterns/model.tsv next to the patterns). The same logs and labels give the\n"
    "same file. --folds K also prints K-fold cross-validated accuracy, folds grouped by\n"
    "source repository. Defaults: --window 1,4 --smoothing 0.5 --threshold 0.9 --evidence 6 --min-docs 2.\n";

struct Options {
  std::vector<std::string> labels, patterns;
  std::string out;
  TrainOptions train;
  int folds = 0;
  bool show = false;  // print each cross-validated log the model decided or missed
};

template <typename T>
bool parseNumber(const std::string& text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string parseArgs(const std::vector<std::string>& args, Options& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) return a + ": missing value (or unknown option)";
    const std::string& v = args[++i];
    if (a == "--labels") {
      o.labels.push_back(v);
    } else if (a == "--patterns") {
      o.patterns.push_back(v);
    } else if (a == "--out") {
      o.out = v;
    } else if (a == "--window") {
      const size_t comma = v.find(',');
      if (comma == std::string::npos || !parseNumber(v.substr(0, comma), o.train.before) ||
          !parseNumber(v.substr(comma + 1), o.train.after) || o.train.before < 0 || o.train.before > 100 ||
          o.train.after < 0 || o.train.after > 1000)
        return "--window takes BEFORE,AFTER (0..100, 0..1000)";
    } else if (a == "--smoothing") {
      if (!parseNumber(v, o.train.smoothing) || o.train.smoothing <= 0 || o.train.smoothing > 100)
        return "--smoothing takes a number within (0, 100]";
    } else if (a == "--threshold") {
      if (!parseNumber(v, o.train.threshold) || o.train.threshold < 0 || o.train.threshold > 1)
        return "--threshold takes a posterior within 0..1";
    } else if (a == "--evidence") {
      if (!parseNumber(v, o.train.evidence) || o.train.evidence < 1) return "--evidence takes a token count >= 1";
    } else if (a == "--min-docs") {
      if (!parseNumber(v, o.train.min_docs) || o.train.min_docs < 1) return "--min-docs takes a positive integer";
    } else if (a == "--show" && v == "cv") {
      o.show = true;
    } else if (a == "--folds") {
      if (!parseNumber(v, o.folds) || o.folds < 2 || o.folds > 50) return "--folds takes 2..50";
    } else {
      return "unknown option " + a;
    }
  }
  if (o.labels.empty()) return "no --labels given";
  if (o.out.empty() && o.folds == 0) return "no --out FILE given";
  return {};
}

// The corpus's name for a diagnosed category.
std::string corpusLabel(Category c) {
  return c == Category::ResourceMemory || c == Category::ResourceDisk ? "resource" : std::string(categoryName(c));
}

// Fold of a source: a hash of the repository part of its URL, so logs of one
// project stay together and the assignment does not depend on input order.
int foldOf(const std::string& source, int folds) {
  std::string key = source;
  if (const size_t host = key.find("github.com/"); host != std::string::npos) {
    key = key.substr(host + 11);
    const size_t slash = key.find('/');
    key = key.substr(0, key.find_first_of("/#?", slash == std::string::npos ? key.size() : slash + 1));
  }
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto digest = crypto::sha256(key);
  const uint32_t value =
      (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) | (uint32_t{digest[2]} << 8) | digest[3];
  return static_cast<int>(value % static_cast<uint32_t>(folds));
}

struct Tally {
  int logs = 0, correct = 0, false_alarms = 0, by_model = 0;
  std::map<std::string, std::pair<int, int>> recall;  // label -> (correct, logs)
  void add(const std::string& label, const Diagnosis& d) {
    const std::string got = corpusLabel(d.category);
    ++logs;
    correct += got == label;
    false_alarms += label == "none" && got != "none";
    by_model += d.decided_by == DecidedBy::Model;
    auto& r = recall[label];
    r.first += got == label;
    ++r.second;
  }
  void print(const char* name) const {
    fmt::print("{}: {}/{} correct ({:.1f}%), false alarms {}, decided by the model {}\n  recall:", name, correct, logs,
               100.0 * correct / std::max(1, logs), false_alarms, by_model);
    for (const auto& [label, r] : recall) fmt::print(" {} {}/{}", label, r.first, r.second);
    fmt::print("\n");
  }
};

Diagnosis classify(const KnowledgeBase& kb, const std::string& path) {
  Classifier classifier(kb);
  std::string error;
  diagnoseFile(path, classifier, &error);
  return classifier.diagnose();
}

// The model alone on held-out logs: how often its answer is right when its
// posterior reaches each threshold (precision) and how often it does (coverage).
void printCalibration(const std::vector<TokenizedLog>& logs, const Options& o) {
  std::vector<std::pair<double, bool>> answers;  // posterior, right
  for (int fold = 0; fold < o.folds; ++fold) {
    std::vector<const TokenizedLog*> train;
    for (const auto& l : logs)
      if (foldOf(l.log.source, o.folds) != fold) train.push_back(&l);
    const FailureModel model = modelFrom(train, o.train);
    for (const auto& l : logs)
      if (foldOf(l.log.source, o.folds) == fold) {
        const ModelPrediction p = model.predict(l.tokens);
        answers.emplace_back(p.posterior, p.label == l.log.label);
      }
  }
  fmt::print("model alone, held out: posterior >= threshold -> right/answered (of {})\n ", answers.size());
  for (double t : {0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99}) {
    int answered = 0, right = 0;
    for (const auto& [posterior, ok] : answers)
      if (posterior >= t) ++answered, right += ok;
    fmt::print(" {:.2f}: {}/{}", t, right, answered);
  }
  fmt::print("\n");
}

void crossValidate(KnowledgeBase& kb, const std::vector<TokenizedLog>& logs, const Options& o) {
  Tally with_model, patterns_only;
  for (int fold = 0; fold < o.folds; ++fold) {
    std::vector<const TokenizedLog*> train;
    for (const auto& l : logs)
      if (foldOf(l.log.source, o.folds) != fold) train.push_back(&l);
    kb.setModel(modelFrom(train, o.train));
    for (const auto& l : logs)
      if (foldOf(l.log.source, o.folds) == fold) {
        const Diagnosis d = classify(kb, l.log.path);
        with_model.add(l.log.label, d);
        if (o.show && (d.decided_by == DecidedBy::Model || corpusLabel(d.category) != l.log.label))
          fmt::print("  {} {:<14} got {:<14} by {} (model {} {:.2f})\n", l.log.path.substr(l.log.path.rfind('/') + 1),
                     l.log.label, corpusLabel(d.category), decidedByName(d.decided_by), d.model_label,
                     d.model_posterior);
      }
  }
  kb.setModel(FailureModel{});
  for (const auto& l : logs) patterns_only.add(l.log.label, classify(kb, l.log.path));
  printCalibration(logs, o);
  fmt::print("{}-fold cross-validation over {} logs (folds by source repository)\n", o.folds, logs.size());
  with_model.print("patterns + model");
  patterns_only.print("patterns alone  ");
}

}  // namespace

int runTrainCommand(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  Options o;
  if (const std::string error = parseArgs(args, o); !error.empty()) {
    std::fprintf(stderr, "hale-agent patterns train: %s\n%s", error.c_str(), kUsage.data());
    return 2;
  }
  if (o.patterns.empty()) o.patterns = defaultPatternDirs();
  try {
    KnowledgeBase kb = loadKnowledgeBase(o.patterns);
    kb.setModel(FailureModel{});  // the window is found by the patterns alone
    std::vector<LabelledLog> logs;
    for (const auto& file : o.labels)
      for (auto& log : readLabels(file)) logs.push_back(std::move(log));
    if (o.folds > 0) crossValidate(kb, tokenizeLogs(kb, logs, o.train), o);
    if (o.out.empty()) return 0;
    kb.setModel(FailureModel{});
    const FailureModel model = trainModel(kb, logs, o.train);
    std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
    out << model.serialize();
    if (!out.flush()) throw config::ConfigError(fmt::format("{}: cannot write model", o.out));
    fmt::print("trained on {} logs: {} classes, {} tokens -> {}\n", logs.size(), model.classes().size(),
               model.vocabulary(), o.out);
    return 0;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "hale-agent patterns train: %s\n", e.what());
    return 2;
  }
}

}  // namespace hale::agent::ci
