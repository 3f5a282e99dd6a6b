// Weighing the evidence: each knowledge-base entry that matched scores
// priority x specificity x proximity-to-the-end x a bonus for repeats; a
// category scores its best entry plus a quarter of the others, so many weak
// generic hits cannot outvote one strong specific one.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "agent/ci/classifier.h"

namespace hale::agent::ci {
namespace {

// A failure is usually reported near the end; cleanup chatter follows it, so
// the curve is gentle near the end (0.8 at 50 lines away) and flattens at
// 0.25 for evidence thousands of lines before it (often a recovered hiccup).
double proximity(uint64_t last_line, uint64_t total_lines) {
  const double distance = static_cast<double>(total_lines - std::min(total_lines, last_line));
  return 0.25 + 0.75 / (1.0 + distance / 120.0);
}

double repeatBonus(uint64_t count) { return std::min(2.0, 1.0 + 0.25 * std::log2(static_cast<double>(count))); }

}  // namespace

std::vector<double> Classifier::categoryScores(std::vector<int>& best_entry) const {
  std::vector<double> best(kCategoryCount, 0.0), rest(kCategoryCount, 0.0);
  best_entry.assign(kCategoryCount, -1);
  const auto& entries = kb_.entries();
  for (size_t e = 0; e < stats_.size(); ++e) {
    const EntryStats& s = stats_[e];
    if (s.count == 0) continue;
    const double score = s.best_weight * proximity(s.last_line, lines_) * repeatBonus(s.count);
    const auto c = static_cast<size_t>(entries[e].category);
    if (score > best[c]) {
      rest[c] += best[c];
      best[c] = score;
      best_entry[c] = static_cast<int>(e);
    } else {
      rest[c] += score;
    }
  }
  for (size_t c = 0; c < best.size(); ++c) best[c] += 0.25 * rest[c];
  return best;
}

Diagnosis Classifier::diagnose() {
  finish();
  Diagnosis d;
  d.lines = lines_;
  d.bytes = bytes_;
  std::vector<int> best_entry;
  const std::vector<double> scores = categoryScores(best_entry);
  size_t top = 0;
  double total = 0.0;
  for (size_t c = 0; c < scores.size(); ++c) {
    total += scores[c];
    if (scores[c] > scores[top]) top = c;
  }
  int second = -1;  // never "none": a success marker is not a secondary failure
  for (size_t c = 1; c < scores.size(); ++c)
    if (c != top && scores[c] > 0.0 && (second < 0 || scores[c] > scores[static_cast<size_t>(second)]))
      second = static_cast<int>(c);
  d.category = static_cast<Category>(top);
  if (scores[top] <= 0.0) {
    d.confidence = 0.5;  // nothing failure-like and no success marker either
    d.explanation = "No known failure signature matched this log.";
    return d;
  }
  const PatternEntry& entry = kb_.entries()[static_cast<size_t>(best_entry[top])];
  // Evidence of the category an entry declares as its usual companion (a test
  // that timed out also prints a test failure) corroborates rather than competes.
  if (entry.secondary && static_cast<size_t>(*entry.secondary) != top)
    total -= 0.75 * scores[static_cast<size_t>(*entry.secondary)];
  d.confidence = std::clamp(scores[top] / total * (1.0 - std::exp(-scores[top] / 40.0)), 0.0, 1.0);
  d.entry_id = entry.id;
  d.explanation = entry.explanation;
  d.remedy = entry.remedy;
  d.cache = entry.cache;
  if (second > 0 && scores[static_cast<size_t>(second)] >= 0.3 * scores[top])
    d.secondary = static_cast<Category>(second);
  else if (entry.secondary)
    d.secondary = entry.secondary;
  if (d.secondary == d.category) d.secondary.reset();
  for (auto it = evidence_.rbegin(); it != evidence_.rend() && d.evidence.size() < limits_.max_output_evidence; ++it)
    if (it->category == d.category) d.evidence.insert(d.evidence.begin(), *it);
  if (d.category != Category::None) d.failed_tests = failed_tests_;
  return d;
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
