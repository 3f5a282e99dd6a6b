// Streaming classifier: bulk-skips lines no pattern can match (one union
// search over many lines), runs the RE2::Set only on candidate lines, and
// weighs the evidence when asked.
#include "agent/ci/classifier.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "shared/util/text.h"

namespace hale::agent::ci {
namespace {

constexpr size_t kBulkSlice = 1 << 20;    // bounds the cleaning scratch buffer
constexpr size_t kMaxWaiting = 16 << 20;  // about 0.1 s of a fast step, far more than a build takes
constexpr double kNoticeWeight = 0.3;
constexpr int kVerdictPriority = 10;  // below it, "unknown" entries only mark error lines

// Newlines counted eight bytes at a time (this runs over every byte of the
// log, so it matters): each '\n' byte becomes 1 in a per-byte accumulator
// that is folded before any byte could overflow.
size_t countNewlines(std::string_view text) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kLow7 = 0x7F7F7F7F7F7F7F7FULL;
  size_t count = 0, i = 0;
  while (i + 8 <= text.size()) {
    uint64_t acc = 0;
    for (int round = 0; round < 255 && i + 8 <= text.size(); ++round, i += 8) {
      uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      const uint64_t v = word ^ (kOnes * '\n');  // zero bytes where '\n' was
      acc += (~(((v & kLow7) + kLow7) | v | kLow7)) >> 7;
    }
    count += static_cast<size_t>((acc * kOnes) >> 56);
  }
  for (; i < text.size(); ++i) count += text[i] == '\n';
  return count;
}

// Skips one escape sequence starting at text[i] == ESC; never consumes '\n'.
size_t skipEscape(std::string_view text, size_t i) {
  size_t j = i + 1;
  if (j >= text.size() || text[j] == '\n') return j;
  if (text[j] == '[') {
    ++j;
    while (j < text.size() && text[j] != '\n' && (text[j] < 0x40 || text[j] > 0x7E)) ++j;
    return j < text.size() && text[j] != '\n' ? j + 1 : j;
  }
  if (text[j] == ']') {  // OSC: ends with BEL or ESC '\'
    while (j < text.size() && text[j] != '\n' && text[j] != '\a' && text[j] != '\x1b') ++j;
    if (j < text.size() && text[j] == '\a') return j + 1;
    if (j + 1 < text.size() && text[j] == '\x1b' && text[j + 1] == '\\') return j + 2;
    return j;
  }
  return j + 1;
}

}  // namespace

bool cleanLogText(std::string_view text, std::string& out) {
  const auto find = [&](char c, size_t from) {
    const void* p = from < text.size() ? std::memchr(text.data() + from, c, text.size() - from) : nullptr;
    return p ? static_cast<size_t>(static_cast<const char*>(p) - text.data()) : text.size();
  };
  size_t esc = find('\x1b', 0), cr = find('\r', 0);
  if (esc == text.size() && cr == text.size()) return false;
  out.reserve(out.size() + text.size());
  size_t i = 0;
  while (i < text.size()) {  // copy clean runs whole; only the specials are looked at
    const size_t next = std::min(esc, cr);
    out.append(text.data() + i, next - i);
    if (next == text.size()) break;
    i = next == esc ? skipEscape(text, next) : next + 1;
    if (esc < i) esc = find('\x1b', i);
    if (cr < i) cr = find('\r', i);
  }
  return true;
}

Classifier::Classifier(const KnowledgeBase& kb, ClassifierLimits limits)
    : kb_(kb), limits_(limits), stats_(kb.entries().size()) {
  const FailureModel* model = kb.model();
  if (limits_.window_before < 0) limits_.window_before = model ? model->before() : 1;
  if (limits_.window_after < 0) limits_.window_after = model ? model->after() : 4;
}

void Classifier::feed(std::string_view data, int stream) {
  bytes_ += data.size();
  // While exec's automata are still being built, input waits here (bounded)
  // instead of the step stalling on a full pipe behind the build.
  if (waiting_bytes_ + data.size() <= kMaxWaiting && kb_.building()) {
    waiting_.emplace_back(stream, std::string(data));
    waiting_bytes_ += data.size();
    return;
  }
  feedWaiting();
  feedStream(data, carry_[stream == 1 ? 1 : 0]);
}

void Classifier::feedWaiting() {
  for (const auto& [stream, text] : waiting_) feedStream(text, carry_[stream == 1 ? 1 : 0]);
  waiting_.clear();
  waiting_.shrink_to_fit();
  waiting_bytes_ = 0;
}

void Classifier::feedStream(std::string_view data, Carry& carry) {
  if (!carry.text.empty() || carry.discarding) {
    const size_t nl = data.find('\n');
    const std::string_view head = data.substr(0, nl);
    if (!carry.discarding) {
      const size_t room = limits_.max_line - std::min(limits_.max_line, carry.text.size());
      carry.text.append(head.substr(0, room));
      carry.discarding = head.size() > room;
    }
    if (nl == std::string_view::npos) return;
    carry.text.push_back('\n');
    scanBulk(carry.text);
    carry.text.clear();
    carry.discarding = false;
    data.remove_prefix(nl + 1);
  }
  const size_t last = data.rfind('\n');
  if (last != std::string_view::npos) {
    for (size_t at = 0; at <= last;) {  // slices end on a newline
      size_t end = std::min(last + 1, at + kBulkSlice);
      if (end <= last) end = data.rfind('\n', end - 1) + 1;
      if (end <= at) end = data.find('\n', at) + 1;
      scanBulk(data.substr(at, end - at));
      at = end;
    }
    data.remove_prefix(last + 1);
  }
  carry.text.assign(data.substr(0, limits_.max_line));
  carry.discarding = data.size() > limits_.max_line;
}

void Classifier::finish() {
  feedWaiting();
  for (auto& carry : carry_) {
    if (carry.text.empty()) continue;
    carry.text.push_back('\n');
    scanBulk(carry.text);
    carry.text.clear();
    carry.discarding = false;
  }
}

void Classifier::scanBulk(std::string_view text) {
  scratch_.clear();
  if (cleanLogText(text, scratch_)) {
    scanClean(scratch_);
  } else {
    scanClean(text);
  }
}

// `text` holds complete lines; only lines where some pattern may match are
// split out, the rest are counted in bulk.
void Classifier::scanClean(std::string_view text) {
  size_t pos = 0;
  if (after_needed_ > 0) collectAfter(text, 0);
  while (pos < text.size()) {
    const size_t hit = kb_.findFirst(text, pos);
    if (hit == std::string_view::npos) {
      lines_ += countNewlines(text.substr(pos));
      break;
    }
    const size_t before = hit == 0 ? std::string_view::npos : text.rfind('\n', hit - 1);
    const size_t start = (before == std::string_view::npos || before < pos) ? pos : before + 1;
    lines_ += countNewlines(text.substr(pos, start - pos));
    size_t end = text.find('\n', hit);
    if (end == std::string_view::npos) end = text.size();
    ++lines_;
    const std::string_view line = text.substr(start, std::min(end - start, limits_.max_line));
    if (processLine(line) && !window_open_) {
      openWindow(text, start, line);
      collectAfter(text, std::min(end + 1, text.size()));
    }
    pos = end + 1;
  }
  keepTail(text);  // after the scan: until then it ends where this text begins (openWindow reads it)
}

// The model reads the lines around the first error: `before` lines preceding
// it (from this text, then from the tail kept of earlier text) and the line.
void Classifier::openWindow(std::string_view text, size_t start, std::string_view line) {
  window_open_ = true;
  std::vector<std::string_view> earlier;
  std::string_view head = text.substr(0, start);
  for (int source = 0; source < 2 && static_cast<int>(earlier.size()) < limits_.window_before; ++source) {
    if (source == 1) head = tail_;
    while (!head.empty() && static_cast<int>(earlier.size()) < limits_.window_before) {
      if (head.back() == '\n') head.remove_suffix(1);
      const size_t nl = head.rfind('\n');
      earlier.push_back(nl == std::string_view::npos ? head : head.substr(nl + 1));
      head = nl == std::string_view::npos ? std::string_view() : head.substr(0, nl);
    }
  }
  const auto keep = [&](std::string_view l) { return sanitizeUtf8(l.substr(0, limits_.max_window_line)); };
  for (size_t i = earlier.size(); i-- > 0;)
    if (lines_ > i + 1) window_.emplace_back(lines_ - i - 1, keep(earlier[i]));
  window_error_index_ = window_.size();
  window_.emplace_back(lines_, keep(line));
  after_needed_ = limits_.window_after;
}

// Copies up to after_needed_ complete lines of `text` from `from` into the
// window (they are still scanned as usual). Returns where it stopped.
size_t Classifier::collectAfter(std::string_view text, size_t from) {
  uint64_t number = window_.empty() ? lines_ : window_.back().first;
  while (after_needed_ > 0 && from < text.size()) {
    const size_t nl = text.find('\n', from);
    if (nl == std::string_view::npos) break;
    window_.emplace_back(++number, sanitizeUtf8(text.substr(from, std::min(nl - from, limits_.max_window_line))));
    --after_needed_;
    from = nl + 1;
  }
  return from;
}

std::vector<std::pair<uint64_t, std::string>> Classifier::modelWindow() const {
  if (window_open_) return window_;
  // No error line: the last lines of the log stand for it.
  std::vector<std::pair<uint64_t, std::string>> out;
  std::string_view rest = tail_;
  if (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
  const int want = limits_.window_before + limits_.window_after + 1;
  uint64_t number = lines_;
  while (!rest.empty() && static_cast<int>(out.size()) < want) {
    const size_t nl = rest.rfind('\n');
    const std::string_view line = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
    out.emplace_back(number--, sanitizeUtf8(line.substr(0, limits_.max_window_line)));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(0, nl);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// Returns true when the line is evidence of a failure (it opens the model's window).
bool Classifier::processLine(std::string_view line) {
  kb_.matchLine(line, &hits_);
  if (hits_.empty()) return false;
  const auto& patterns = kb_.patterns();
  const auto& entries = kb_.entries();
  // Several patterns of one entry on one line count as one match.
  std::sort(hits_.begin(), hits_.end(), [&](int a, int b) { return patterns[a].entry < patterns[b].entry; });
  // A notice that a problem was handled ("retrying in 5s") or a warning is
  // weak evidence: it only counts where nothing stronger was seen for the entry.
  const bool notice =
      std::any_of(hits_.begin(), hits_.end(), [&](int h) { return entries[patterns[h].entry].suppress; });
  size_t previous = SIZE_MAX;
  bool failure = false;
  for (int h : hits_) {
    const size_t e = patterns[h].entry;
    EntryStats& s = stats_[e];
    const double weight = entries[e].priority * patterns[h].specificity;
    // A step-failure marker is the CI system's own verdict, whatever the
    // line's level (GitLab prints "WARNING: Job failed" for a job allowed to fail).
    const bool verdict = entries[e].category == Category::Unknown && entries[e].priority >= kVerdictPriority;
    if (notice && !entries[e].suppress && !verdict) {
      if (s.count == 0) s = {1, lines_, weight * kNoticeWeight, false};
      continue;
    }
    failure = failure || entries[e].category != Category::None;
    if (e != previous) {
      ++s.count;
      s.last_line = lines_;
      s.asserted = true;
      addEvidence(line, entries[e]);
      if (entries[e].category == Category::Test || entries[e].category == Category::Flaky) collectFailedTest(line);
    }
    s.best_weight = std::max(s.best_weight, weight);
    previous = e;
  }
  return failure;
}

// One evidence line per (line, category): two entries of one category
// matching the same line would only repeat it.
void Classifier::addEvidence(std::string_view line, const PatternEntry& entry) {
  for (auto it = evidence_.rbegin(); it != evidence_.rend() && it->line == lines_; ++it)
    if (it->category == entry.category) return;
  if (evidence_.size() >= limits_.max_evidence) evidence_.pop_front();
  evidence_.push_back({lines_, sanitizeUtf8(line.substr(0, limits_.max_evidence_text)), entry.id, entry.category});
}

void Classifier::keepTail(std::string_view text) {
  if (text.size() >= limits_.tail_bytes) {
    tail_.assign(text.substr(text.size() - limits_.tail_bytes));
    return;
  }
  tail_.append(text);
  if (tail_.size() > limits_.tail_bytes) tail_.erase(0, tail_.size() - limits_.tail_bytes);
}

// Test names for "rerun only the failed tests": go test, pytest, cargo test.
void Classifier::collectFailedTest(std::string_view line) {
  static const RE2 kGo(R"(^\s*--- FAIL: (\S+))");
  static const RE2 kPytest(R"(^FAILED (\S+?)(?:\s|$))");
  static const RE2 kCargo(R"(^test (\S+) \.\.\. FAILED)");
  if (failed_tests_.size() >= limits_.max_failed_tests) return;
  const re2::StringPiece text(line.data(), line.size());
  std::string name;
  if (RE2::PartialMatch(text, kGo, &name) || RE2::PartialMatch(text, kPytest, &name) ||
      RE2::PartialMatch(text, kCargo, &name)) {
    name = sanitizeUtf8(name);
    if (std::find(failed_tests_.begin(), failed_tests_.end(), name) == failed_tests_.end())
      failed_tests_.push_back(name);
  }
}

}  // namespace hale::agent::ci
