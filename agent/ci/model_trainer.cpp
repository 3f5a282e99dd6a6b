// Training the learned fallback from labelled logs.
#include "agent/ci/model_trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/ci/classifier.h"
#include "shared/config/config.h"
#include "shared/crypto/crypto.h"

namespace hale::agent::ci {
namespace {

namespace fs = std::filesystem;
using config::ConfigError;

// The corpus's categories: resource stands for memory and disk together.
constexpr std::array<std::string_view, 11> kLabels = {"none",           "dependency", "network",  "test",
                                                      "compile",        "timeout",    "resource", "permission",
                                                      "infrastructure", "flaky",      "unknown"};

std::vector<std::string_view> splitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string_view::npos; start = tab + 1)
    out.push_back(line.substr(start, tab - start));
  out.push_back(line.substr(start));
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read log", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Which training set a model came from, independent of where the logs are:
// SHA-256 over the sorted "label<TAB>sha256(log)" lines.
std::string trainingHash(const std::vector<LabelledLog>& logs) {
  std::vector<std::string> rows;
  for (const auto& log : logs) rows.push_back(log.label + "\t" + crypto::toHex(crypto::sha256(readFile(log.path))));
  std::sort(rows.begin(), rows.end());
  std::string all;
  for (const auto& r : rows) all += r + "\n";
  return crypto::toHex(crypto::sha256(all));
}

}  // namespace

std::vector<LabelledLog> readLabels(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read labels", path));
  const fs::path dir = fs::path(path).parent_path();
  std::vector<LabelledLog> out;
  std::string line;
  size_t file_col = 0, label_col = 1, source_col = 2;
  for (uint32_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto cols = splitTabs(line);
    if (number == 1 && cols[0] == "file") {  // a corpus labels.tsv: columns by name
      for (size_t c = 0; c < cols.size(); ++c) {
        if (cols[c] == "category") label_col = c;
        if (cols[c] == "source_url") source_col = c;
      }
      continue;
    }
    if (cols.size() <= std::max(file_col, label_col))
      throw ConfigError({path, number, 1}, "expected PATH<TAB>CATEGORY");
    const std::string_view label = cols[label_col];
    if (std::find(kLabels.begin(), kLabels.end(), label) == kLabels.end()) {
      uint32_t column = 1;
      for (size_t c = 0; c < label_col; ++c) column += static_cast<uint32_t>(cols[c].size()) + 1;
      throw ConfigError({path, number, column}, fmt::format("unknown category '{}'", label));
    }
    fs::path file(std::string(cols[file_col]));
    if (file.is_relative()) file = dir / file;
    out.push_back({file.lexically_normal().string(), std::string(label),
                   source_col < cols.size() ? std::string(cols[source_col]) : file.filename().string()});
  }
  return out;
}

std::vector<std::string> logTokens(const KnowledgeBase& kb, const std::string& path, const TrainOptions& options) {
  ClassifierLimits limits;
  limits.window_before = options.before;
  limits.window_after = options.after;
  Classifier classifier(kb, limits);
  classifier.feed(readFile(path));
  classifier.finish();
  std::vector<std::string> tokens;
  for (const auto& [number, text] : classifier.modelWindow()) tokenizeLine(text, tokens);
  return tokens;
}

std::vector<TokenizedLog> tokenizeLogs(const KnowledgeBase& kb, const std::vector<LabelledLog>& logs,
                                       const TrainOptions& options) {
  std::vector<TokenizedLog> out;
  for (const auto& log : logs) out.push_back({log, logTokens(kb, log.path, options)});
  return out;
}

FailureModel modelFrom(const std::vector<const TokenizedLog*>& docs, const TrainOptions& options) {
  FailureModel model;
  // Classes in a fixed order, whatever order the logs come in; counts are
  // sums, so the order of logs within a class does not matter either.
  for (const auto label : kLabels)
    for (const TokenizedLog* doc : docs)
      if (doc->log.label == label) model.addDocument(doc->log.label, doc->tokens);
  model.prune(options.min_docs);
  model.setWindow(options.before, options.after);
  model.setSmoothing(options.smoothing);
  model.setThreshold(options.threshold);
  model.setEvidence(options.evidence);
  return model;
}

FailureModel trainModel(const KnowledgeBase& kb, const std::vector<LabelledLog>& logs, const TrainOptions& options) {
  const auto tokenized = tokenizeLogs(kb, logs, options);
  std::vector<const TokenizedLog*> all;
  for (const auto& t : tokenized) all.push_back(&t);
  FailureModel model = modelFrom(all, options);
  model.setTrainingSet(logs.size(), trainingHash(logs));
  return model;
}

}  // namespace hale::agent::ci
