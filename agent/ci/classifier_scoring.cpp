// Weighing the evidence: each knowledge-base entry that matched scores
// priority x specificity x proximity-to-the-end x a bonus for repeats; a
// category scores its best entry plus a quarter of the others, so many weak
// generic hits cannot outvote one strong specific one. Then the decision:
// the patterns decide when one failure category clearly leads; the learned
// model decides when no pattern names a cause or the patterns disagree.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "agent/ci/classifier.h"
#include "agent/ci/refused_resource.h"

namespace hale::agent::ci {
namespace {

// Entries below this priority only mark error lines: they open the model's
// window but never assert on their own that the step failed.
constexpr int kAssertPriority = 10;
// A second category within this share of the leader's score is a disagreement.
constexpr double kDisagreement = 0.8;

// A failure is usually reported near the end; cleanup chatter follows it, so
// the curve is gentle near the end (0.8 at 50 lines away) and flattens at
// 0.25 for evidence thousands of lines before it (often a recovered hiccup).
double proximity(uint64_t last_line, uint64_t total_lines) {
  const double distance = static_cast<double>(total_lines - std::min(total_lines, last_line));
  return 0.25 + 0.75 / (1.0 + distance / 120.0);
}

double repeatBonus(uint64_t count) { return std::min(2.0, 1.0 + 0.25 * std::log2(static_cast<double>(count))); }

bool isCause(size_t c) {
  return c != static_cast<size_t>(Category::None) && c != static_cast<size_t>(Category::Unknown);
}

// Failures whose messages a cause brings along: a network failure while
// fetching dependencies is reported by the resolver as well, a compiler or
// test killed for memory by the build or the runner, a test that ran out of
// time by the test runner, a refused download by the resolver.
bool isConsequence(size_t cause, size_t effect) {
  using C = Category;
  const auto is = [&](C a, std::initializer_list<C> effects) {
    return cause == static_cast<size_t>(a) &&
           std::any_of(effects.begin(), effects.end(), [&](C e) { return effect == static_cast<size_t>(e); });
  };
  return is(C::Network, {C::Dependency}) || is(C::Permission, {C::Dependency, C::Network}) ||
         is(C::ResourceMemory, {C::Compile, C::Test, C::Timeout}) ||
         is(C::ResourceDisk, {C::Compile, C::Test, C::Dependency, C::Infrastructure}) || is(C::Timeout, {C::Test}) ||
         is(C::Flaky, {C::Test}) || is(C::Dependency, {C::Compile});
}

// The model speaks the corpus's categories: "resource" is memory or disk.
Category modelCategory(const std::string& label, const std::vector<double>& score,
                       const std::vector<std::string>& tokens) {
  if (label != "resource") return parseCategory(label).value_or(Category::Unknown);
  const auto mem = static_cast<size_t>(Category::ResourceMemory), disk = static_cast<size_t>(Category::ResourceDisk);
  if (score[disk] != score[mem]) return score[disk] > score[mem] ? Category::ResourceDisk : Category::ResourceMemory;
  const bool disky = std::any_of(tokens.begin(), tokens.end(),
                                 [](const std::string& t) { return t == "disk" || t == "space" || t == "quota"; });
  return disky ? Category::ResourceDisk : Category::ResourceMemory;
}

std::string modelLabel(Category c) {
  return c == Category::ResourceMemory || c == Category::ResourceDisk ? "resource" : std::string(categoryName(c));
}

}  // namespace

std::string_view decidedByName(DecidedBy by) { return by == DecidedBy::Model ? "model" : "pattern"; }

Classifier::Scores Classifier::categoryScores() const {
  Scores out;
  std::vector<double> best(kCategoryCount, 0.0), rest(kCategoryCount, 0.0);
  out.best_entry.assign(kCategoryCount, -1);
  const auto& entries = kb_.entries();
  // Categories with evidence of their own, for entries that require one.
  std::vector<bool> present(kCategoryCount, false);
  for (size_t e = 0; e < stats_.size(); ++e)
    if (stats_[e].asserted && entries[e].requires_any.empty() && entries[e].priority >= kAssertPriority)
      present[static_cast<size_t>(entries[e].category)] = true;
  for (size_t e = 0; e < stats_.size(); ++e) {
    const EntryStats& s = stats_[e];
    if (s.count == 0 || entries[e].suppress) continue;  // notices only weaken other matches
    const auto& required = entries[e].requires_any;
    if (!required.empty() &&
        std::none_of(required.begin(), required.end(), [&](Category c) { return present[static_cast<size_t>(c)]; }))
      continue;
    const auto c = static_cast<size_t>(entries[e].category);
    if (s.asserted && entries[e].priority >= kAssertPriority && entries[e].category == Category::Unknown)
      out.failure_verdict = true;
    const double score = s.best_weight * proximity(s.last_line, lines_) * repeatBonus(s.count);
    if (score > best[c]) {
      rest[c] += best[c];
      best[c] = score;
      out.best_entry[c] = static_cast<int>(e);
    } else {
      rest[c] += score;
    }
  }
  for (size_t c = 0; c < best.size(); ++c) best[c] += 0.25 * rest[c];
  out.score = std::move(best);
  return out;
}

void Classifier::fillPatternVerdict(const Scores& scores, size_t top, Diagnosis& d) const {
  const auto& sc = scores.score;
  const PatternEntry& entry = kb_.entries()[static_cast<size_t>(scores.best_entry[top])];
  double total = 0.0;
  for (size_t c = 0; c < sc.size(); ++c)
    if (c != static_cast<size_t>(Category::Unknown) || top == c) total += sc[c];
  // Evidence of the category an entry declares as its usual companion (a test
  // that timed out also prints a test failure) corroborates rather than competes.
  if (entry.secondary && static_cast<size_t>(*entry.secondary) != top)
    total -= 0.75 * sc[static_cast<size_t>(*entry.secondary)];
  d.category = static_cast<Category>(top);
  d.decided_by = DecidedBy::Pattern;
  d.confidence = std::clamp(sc[top] / total * (1.0 - std::exp(-sc[top] / 40.0)), 0.0, 1.0);
  d.entry_id = entry.id;
  d.explanation = entry.explanation;
  d.remedy = entry.remedy;
  d.cache = entry.cache;
  int second = -1;  // never none or unknown: neither is a secondary failure
  for (size_t c = 0; c < sc.size(); ++c)
    if (c != top && isCause(c) && sc[c] > 0.0 && (second < 0 || sc[c] > sc[static_cast<size_t>(second)]))
      second = static_cast<int>(c);
  if (second > 0 && sc[static_cast<size_t>(second)] >= 0.3 * sc[top])
    d.secondary = static_cast<Category>(second);
  else if (entry.secondary)
    d.secondary = entry.secondary;
  if (d.secondary == d.category) d.secondary.reset();
}

// Asks the model over `allowed` labels (all when empty). Decides and returns
// true when it is sure enough; otherwise only notes what it said.
bool Classifier::askModel(const Scores& scores, const std::vector<std::string>& allowed, bool failed,
                          Diagnosis& d) const {
  const FailureModel* model = kb_.model();
  if (!model || model->empty()) return false;
  std::vector<std::string> tokens;
  for (const auto& line : modelWindow()) tokenizeLine(line.second, tokens);
  const ModelPrediction p = model->predict(tokens, allowed);
  d.model_label = p.label;
  d.model_posterior = p.posterior;
  d.model_tokens = p.weights;
  if (p.label.empty() || p.posterior < model->threshold() || p.label == "unknown") return false;
  // Between rivals the model must prefer the same label over all classes too:
  // a choice forced between two poor fits is no decision.
  if (!allowed.empty() && model->predict(tokens).label != p.label) return false;
  if (p.label == "none" && failed) return false;
  d.category = p.label == "none" ? Category::None : modelCategory(p.label, scores.score, tokens);
  d.decided_by = DecidedBy::Model;
  d.confidence = p.posterior;
  d.remedy = defaultRemedy(d.category);
  const size_t c = static_cast<size_t>(d.category);
  if (scores.best_entry[c] >= 0) {  // a pattern of the model's category matched too: its details apply
    const PatternEntry& entry = kb_.entries()[static_cast<size_t>(scores.best_entry[c])];
    d.entry_id = entry.id;
    d.remedy = entry.remedy;
    d.cache = entry.cache;
  }
  std::string words;
  for (size_t i = 0; i < p.weights.size() && i < 3; ++i) words += (i ? ", " : "") + p.weights[i].first;
  d.explanation = fmt::format("The learned model reads a {} failure here (posterior {:.2f}; tokens {}).",
                              categoryName(d.category), p.posterior, words.empty() ? "-" : words);
  return true;
}

void Classifier::decide(const Scores& scores, Diagnosis& d) const {
  const auto& sc = scores.score;
  std::vector<size_t> causes;  // categories naming a cause, strongest first
  for (size_t c = 0; c < sc.size(); ++c)
    if (isCause(c) && sc[c] > 0.0) causes.push_back(c);
  std::stable_sort(causes.begin(), causes.end(), [&](size_t a, size_t b) { return sc[a] > sc[b]; });
  const double none = sc[static_cast<size_t>(Category::None)];
  const bool failed = step_failed_ || scores.failure_verdict;
  if (!causes.empty() && sc[causes[0]] >= none) {
    size_t top = causes[0];
    // A cause close behind its own consequence is the diagnosis (the resolver
    // reports the network failure it ran into, the build the killed compiler).
    for (size_t i = 1; i < causes.size(); ++i)
      if (sc[causes[i]] >= kDisagreement * sc[top] && isConsequence(causes[i], top)) {
        top = causes[i];
        break;
      }
    fillPatternVerdict(scores, top, d);
    // Patterns of unrelated categories close together: the model picks among them.
    std::vector<std::string> rivals = {modelLabel(static_cast<Category>(top))};
    const auto& companion = kb_.entries()[static_cast<size_t>(scores.best_entry[top])].secondary;
    for (const size_t c : causes)
      if (c != top && sc[c] >= kDisagreement * sc[top] && companion != static_cast<Category>(c) &&
          !isConsequence(top, c) && !isConsequence(c, top))
        rivals.push_back(modelLabel(static_cast<Category>(c)));
    if (rivals.size() > 1) {
      Diagnosis asked = d;
      if (askModel(scores, rivals, true, asked) && asked.category != d.category) {
        asked.secondary = d.category;
        d = std::move(asked);
      } else {
        d.model_label = asked.model_label, d.model_posterior = asked.model_posterior;
        d.model_tokens = std::move(asked.model_tokens);
      }
    }
    return;
  }
  if (!failed && none > 0.0) {  // a success marker, and no assertion that the step failed
    fillPatternVerdict(scores, static_cast<size_t>(Category::None), d);
    return;
  }
  // The model reads error text: with none (no error line, no verdict) the step stays none.
  if ((failed || window_open_) && askModel(scores, {}, failed, d)) return;
  if (!failed) {
    d.explanation = "No known failure signature matched this log.";
    d.confidence = 0.5;
    return;
  }
  d.category = Category::Unknown;
  d.decided_by = d.model_label.empty() ? DecidedBy::Pattern : DecidedBy::Model;
  d.confidence = d.model_label.empty() ? 0.5 : 1.0 - d.model_posterior;
  const int entry = scores.best_entry[static_cast<size_t>(Category::Unknown)];
  d.entry_id = entry >= 0 ? kb_.entries()[static_cast<size_t>(entry)].id : std::string();
  d.explanation = "The step failed, and neither the patterns nor the learned model can tell why.";
}

Diagnosis Classifier::diagnose() {
  finish();
  Diagnosis d;
  d.lines = lines_;
  d.bytes = bytes_;
  decide(categoryScores(), d);
  for (auto it = evidence_.rbegin(); it != evidence_.rend() && d.evidence.size() < limits_.max_output_evidence; ++it)
    if (it->category == d.category) d.evidence.insert(d.evidence.begin(), *it);
  if (d.evidence.empty() && d.category != Category::None) d.evidence = windowEvidence(d);
  if (d.category != Category::None) d.failed_tests = failed_tests_;
  if (d.category == Category::Permission) {
    std::vector<std::string> lines;
    for (const auto& e : d.evidence) lines.push_back(e.text);
    for (const auto& w : modelWindow()) lines.push_back(w.second);
    for (size_t at = 0; at < tail_.size();) {  // what the step printed before it was refused
      const size_t nl = std::min(tail_.find('\n', at), tail_.size());
      lines.push_back(tail_.substr(at, nl - at));
      at = nl + 1;
    }
    d.refused = refusedResource(lines);
    d.remedy = Remedy::None;  // the same credentials are refused again: never retried
  }
  return d;
}

// The lines a model decision rests on: the window lines holding the tokens
// that weighed most, else the first error line.
std::vector<EvidenceLine> Classifier::windowEvidence(const Diagnosis& d) const {
  std::vector<EvidenceLine> out;
  const auto window = modelWindow();
  std::vector<std::string> tokens;
  for (const auto& [number, text] : window) {
    tokens.clear();
    tokenizeLine(text, tokens);
    const bool weighs = std::any_of(d.model_tokens.begin(), d.model_tokens.end(), [&](const auto& w) {
      return std::find(tokens.begin(), tokens.end(), w.first) != tokens.end();
    });
    if (weighs && out.size() < limits_.max_output_evidence) out.push_back({number, text, d.entry_id, d.category});
  }
  if (out.empty() && !window.empty()) {
    const auto& first = window[std::min(window.size() - 1, window_error_index_)];
    out.push_back({first.first, first.second, d.entry_id, d.category});
  }
  return out;
}

bool diagnoseFile(const std::string& path, Classifier& classifier, std::string* error) {
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!file) {
    if (error) *error = path + ": cannot open";
    return false;
  }
  auto buffer = std::make_unique<char[]>(1 << 20);
  size_t n = 0;
  while ((n = std::fread(buffer.get(), 1, 1 << 20, file)) > 0) classifier.feed(std::string_view(buffer.get(), n));
  const bool failed = std::ferror(file) != 0;
  if (file != stdin) std::fclose(file);
  if (failed && error) *error = path + ": read error";
  return !failed;
}

}  // namespace hale::agent::ci
