// Naive Bayes over log tokens: tokenizer, model file, prediction.
#include "agent/ci/failure_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "shared/config/config.h"

namespace hale::agent::ci {
namespace {

using config::ConfigError;
using config::SourcePos;

constexpr size_t kMaxToken = 40;
constexpr size_t kMaxLineBytes = 2048;  // a window line is tokenised on its head only

bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool isDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool isUpper(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }

bool looksLikeHex(std::string_view run) {
  if (run.size() < 7) return false;
  bool digit = false, alpha = false;
  for (char c : run) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    (isDigit(c) ? digit : alpha) = true;
  }
  return digit && (alpha || run.size() >= 9);
}

bool looksLikeId(std::string_view run) {  // long mixed letters and digits: generated ids, hashes
  if (run.size() < 16) return false;
  return std::any_of(run.begin(), run.end(), isDigit) && !std::all_of(run.begin(), run.end(), isDigit);
}

bool isPath(std::string_view word) {
  if (word.starts_with("/") || word.starts_with("./") || word.starts_with("../") || word.starts_with("~/")) return true;
  if (word.size() > 2 && word[1] == ':' && (word[2] == '\\' || word[2] == '/')) return true;
  return std::count(word.begin(), word.end(), '/') >= 2 || std::count(word.begin(), word.end(), '\\') >= 2;
}

// ".ts" for ".../widget.test.ts:12:3": the kind of file says something, its name does not.
void pathTokens(std::string_view word, std::vector<std::string>& out) {
  out.emplace_back("@path");
  const size_t slash = word.find_last_of("/\\");
  std::string_view name = slash == std::string_view::npos ? word : word.substr(slash + 1);
  name = name.substr(0, name.find_first_of(":(),'\"["));
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= name.size() || name.size() - dot > 6) return;
  std::string ext = ".";
  for (char c : name.substr(dot + 1)) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return;
    ext.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  out.push_back(std::move(ext));
}

// One run of letters and digits, split at camelCase humps.
void runTokens(std::string_view run, std::vector<std::string>& out) {
  if (std::all_of(run.begin(), run.end(), isDigit)) {
    out.emplace_back(run.size() == 3 ? std::string(run) : std::string("@num"));
    return;
  }
  if (looksLikeHex(run) || looksLikeId(run)) {
    out.emplace_back("@hex");
    return;
  }
  size_t start = 0;
  for (size_t i = 1; i <= run.size(); ++i) {
    const bool hump = i < run.size() && isUpper(run[i]) && !isUpper(run[i - 1]) && !isDigit(run[i - 1]);
    if (i < run.size() && !hump) continue;
    std::string token;
    for (size_t k = start; k < i && token.size() < kMaxToken; ++k) {
      if (isDigit(run[k])) {
        if (token.empty() || token.back() != '#') token.push_back('#');
      } else {
        token.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(run[k]))));
      }
    }
    if (token.size() >= 2) out.push_back(std::move(token));
    start = i;
  }
}

}  // namespace

void tokenizeLine(std::string_view line, std::vector<std::string>& out) {
  line = line.substr(0, kMaxLineBytes);
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t end = i;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
    std::string_view word = line.substr(i, end - i);
    i = end;
    if (word.empty()) continue;
    if (word.find("://") != std::string_view::npos) {
      out.emplace_back("@url");
      continue;
    }
    if (isPath(word)) {
      pathTokens(word, out);
      continue;
    }
    for (size_t k = 0; k < word.size();) {
      if (!isWordChar(word[k])) {
        ++k;
        continue;
      }
      size_t j = k;
      while (j < word.size() && isWordChar(word[j])) ++j;
      runTokens(word.substr(k, j - k), out);
      k = j;
    }
  }
}

size_t FailureModel::classIndex(const std::string& label) {
  const auto it = std::find(classes_.begin(), classes_.end(), label);
  if (it != classes_.end()) return static_cast<size_t>(it - classes_.begin());
  classes_.push_back(label);
  docs_.push_back(0);
  totals_.push_back(0);
  for (auto& t : tokens_) t.counts.push_back(0);
  return classes_.size() - 1;
}

void FailureModel::addDocument(const std::string& label, const std::vector<std::string>& tokens) {
  const size_t c = classIndex(label);
  ++docs_[c];
  ++total_docs_;
  std::map<std::string_view, uint32_t> seen;
  for (const auto& t : tokens) ++seen[t];
  for (const auto& [token, n] : seen) {
    auto it = std::lower_bound(tokens_.begin(), tokens_.end(), token,
                               [](const TokenCounts& a, std::string_view b) { return a.token < b; });
    if (it == tokens_.end() || it->token != token)
      it = tokens_.insert(it, TokenCounts{std::string(token), std::vector<uint32_t>(classes_.size(), 0), 0});
    it->counts[c] += n;
    it->docs += 1;
    totals_[c] += n;
  }
}

void FailureModel::prune(int min_docs) {
  std::erase_if(tokens_, [&](const TokenCounts& t) {
    if (static_cast<int>(t.docs) >= min_docs) return false;
    for (size_t c = 0; c < classes_.size(); ++c) totals_[c] -= t.counts[c];
    return true;
  });
}

const FailureModel::TokenCounts* FailureModel::find(std::string_view token) const {
  const auto it = std::lower_bound(tokens_.begin(), tokens_.end(), token,
                                   [](const TokenCounts& a, std::string_view b) { return a.token < b; });
  return it != tokens_.end() && it->token == token ? &*it : nullptr;
}

ModelPrediction FailureModel::predict(const std::vector<std::string>& tokens, const std::vector<std::string>& allowed,
                                      size_t explain) const {
  ModelPrediction p;
  std::vector<size_t> cls;
  for (size_t c = 0; c < classes_.size(); ++c)
    if (docs_[c] > 0 && (allowed.empty() || std::find(allowed.begin(), allowed.end(), classes_[c]) != allowed.end()))
      cls.push_back(c);
  if (cls.empty()) return p;
  std::map<std::string_view, uint32_t> counts;
  for (const auto& t : tokens)
    if (find(t)) ++counts[t];
  uint64_t n = 0;
  for (const auto& kv : counts) n += kv.second;
  // Tokens of one log are far from independent: the likelihood is scaled to
  // at most evidence_ tokens' worth, which keeps the posterior usable as a
  // confidence instead of 0 or 1.
  const double scale = static_cast<double>(n) > evidence_ ? evidence_ / static_cast<double>(n) : 1.0;
  const double vocab = static_cast<double>(tokens_.size());
  const auto logLikelihood = [&](const TokenCounts& t, size_t c) {
    return std::log((t.counts[c] + alpha_) / (static_cast<double>(totals_[c]) + alpha_ * vocab));
  };
  std::vector<double> score(cls.size());
  for (size_t k = 0; k < cls.size(); ++k) {
    double s = std::log(static_cast<double>(docs_[cls[k]]) / static_cast<double>(total_docs_));
    for (const auto& [token, count] : counts) s += scale * count * logLikelihood(*find(token), cls[k]);
    score[k] = s;
  }
  const double top = *std::max_element(score.begin(), score.end());
  double sum = 0.0;
  for (double s : score) sum += std::exp(s - top);
  std::vector<size_t> order(cls.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  const size_t win = cls[order[0]];
  p.label = classes_[win];
  p.posterior = 1.0 / sum;
  if (order.size() < 2) return p;
  const size_t runner_up = cls[order[1]];
  for (const auto& [token, count] : counts) {
    const TokenCounts& t = *find(token);
    const double w = count * (logLikelihood(t, win) - logLikelihood(t, runner_up));
    if (w > 0) p.weights.emplace_back(std::string(token), w);
  }
  std::stable_sort(p.weights.begin(), p.weights.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (p.weights.size() > explain) p.weights.resize(explain);
  return p;
}

}  // namespace hale::agent::ci
