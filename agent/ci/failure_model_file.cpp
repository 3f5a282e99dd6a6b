// The model file: reading (every error names file:line:col) and writing
// (integer counts and fixed formatting, so equal models are equal bytes).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "agent/ci/failure_model.h"
#include "shared/config/config.h"

namespace hale::agent::ci {
namespace {

using config::ConfigError;

constexpr std::string_view kMagic = "hale-failure-model";
constexpr size_t kMaxClasses = 64;
constexpr size_t kMaxTokens = 1'000'000;

struct Field {
  std::string_view text;
  uint32_t column = 1;  // 1-based byte column
};

std::vector<Field> splitTabs(std::string_view line) {
  std::vector<Field> out;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    out.push_back({line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start),
                   static_cast<uint32_t>(start + 1)});
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

// Reads the model one line at a time; fail() throws at the current line.
class Reader {
 public:
  Reader(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  bool next(std::vector<Field>& fields) {
    while (pos_ < text_.size()) {
      const size_t nl = text_.find('\n', pos_);
      std::string_view line = text_.substr(pos_, nl == std::string_view::npos ? std::string_view::npos : nl - pos_);
      pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
      ++line_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty() || line[0] == '#') continue;
      fields = splitTabs(line);
      return true;
    }
    return false;
  }
  [[noreturn]] void fail(const Field& at, const std::string& message) const {
    throw ConfigError({file_, line_, at.column}, "failure model: " + message);
  }
  uint64_t unsignedAt(const Field& f) const {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(f.text.data(), f.text.data() + f.text.size(), v);
    if (ec != std::errc() || end != f.text.data() + f.text.size())
      fail(f, fmt::format("expected a non-negative integer, got '{}'", f.text));
    return v;
  }
  double numberAt(const Field& f, double lo, double hi) const {
    double v = 0;
    const auto [end, ec] = std::from_chars(f.text.data(), f.text.data() + f.text.size(), v);
    if (ec != std::errc() || end != f.text.data() + f.text.size() || !std::isfinite(v) || v < lo || v > hi)
      fail(f, fmt::format("expected a number within {}..{}, got '{}'", lo, hi, f.text));
    return v;
  }
  void expectFields(const std::vector<Field>& f, size_t n) const {
    if (f.size() != n) fail(f.back(), fmt::format("'{}' takes {} fields, found {}", f[0].text, n - 1, f.size() - 1));
  }

 private:
  std::string_view text_;
  const std::string& file_;
  size_t pos_ = 0;
  uint32_t line_ = 0;
};

}  // namespace

FailureModel FailureModel::parse(std::string_view text, const std::string& file) {
  FailureModel m;
  Reader r(text, file);
  std::vector<Field> f;
  if (!r.next(f) || f[0].text != kMagic)
    throw ConfigError({file, 1, 1}, "failure model: expected 'hale-failure-model'");
  r.expectFields(f, 2);
  if (r.unsignedAt(f[1]) != static_cast<uint64_t>(kModelFormat))
    r.fail(f[1], fmt::format("format version {} is not supported (this build reads {})", f[1].text, kModelFormat));
  bool have_docs = false;
  while (r.next(f)) {
    const std::string_view key = f[0].text;
    if (key == "training_set") {
      r.expectFields(f, 3);
      if (!f[2].text.starts_with("sha256:")) r.fail(f[2], "expected sha256:<hex>");
      m.setTrainingSet(r.unsignedAt(f[1]), std::string(f[2].text.substr(7)));
    } else if (key == "window") {
      r.expectFields(f, 3);
      m.before_ = static_cast<int>(r.numberAt(f[1], 0, 100));
      m.after_ = static_cast<int>(r.numberAt(f[2], 0, 1000));
    } else if (key == "smoothing") {
      r.expectFields(f, 2);
      m.alpha_ = r.numberAt(f[1], 1e-6, 100);
    } else if (key == "threshold") {
      r.expectFields(f, 2);
      m.threshold_ = r.numberAt(f[1], 0, 1);
    } else if (key == "evidence") {
      r.expectFields(f, 2);
      m.evidence_ = r.numberAt(f[1], 1, 1e6);
    } else if (key == "classes") {
      if (!m.classes_.empty()) r.fail(f[0], "'classes' given twice");
      if (f.size() < 2 || f.size() - 1 > kMaxClasses) r.fail(f[0], "expected 1..64 class names");
      for (size_t i = 1; i < f.size(); ++i) {
        if (f[i].text.empty() || std::find(m.classes_.begin(), m.classes_.end(), f[i].text) != m.classes_.end())
          r.fail(f[i], "class names must be unique and not empty");
        m.classes_.emplace_back(f[i].text);
      }
      m.totals_.assign(m.classes_.size(), 0);
    } else if (key == "docs") {
      if (m.classes_.empty()) r.fail(f[0], "'docs' before 'classes'");
      if (have_docs) r.fail(f[0], "'docs' given twice");
      r.expectFields(f, m.classes_.size() + 1);
      for (size_t i = 1; i < f.size(); ++i) m.docs_.push_back(r.unsignedAt(f[i]));
      for (uint64_t d : m.docs_) m.total_docs_ += d;
      have_docs = true;
    } else if (key == "token") {
      if (!have_docs) r.fail(f[0], "'token' before 'classes' and 'docs'");
      r.expectFields(f, m.classes_.size() + 2);
      if (f[1].text.empty()) r.fail(f[1], "empty token");
      if (!m.tokens_.empty() && m.tokens_.back().token >= f[1].text) r.fail(f[1], "tokens must be sorted and unique");
      if (m.tokens_.size() >= kMaxTokens) r.fail(f[1], "too many tokens");
      TokenCounts t{std::string(f[1].text), {}, 0};
      for (size_t i = 2; i < f.size(); ++i) {
        const uint64_t v = r.unsignedAt(f[i]);
        if (v > UINT32_MAX) r.fail(f[i], "count too large");
        t.counts.push_back(static_cast<uint32_t>(v));
        m.totals_[i - 2] += v;
      }
      m.tokens_.push_back(std::move(t));
    } else {
      r.fail(f[0], fmt::format("unknown key '{}'", key));
    }
  }
  if (!have_docs) throw ConfigError({file, 1, 1}, "failure model: no 'classes' and 'docs' lines");
  if (m.total_docs_ == 0) throw ConfigError({file, 1, 1}, "failure model: trained on no documents");
  return m;
}

FailureModel FailureModel::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read failure model", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

std::string FailureModel::serialize() const {
  std::string out =
      "# Hale's learned fallback for build-log diagnosis: naive Bayes token counts.\n"
      "# Generated by `hale-agent patterns train` (docs/builds.md); do not edit by hand.\n";
  out += fmt::format("{}\t{}\n", kMagic, kModelFormat);
  out += fmt::format("training_set\t{}\tsha256:{}\n", training_logs_, training_hash_);
  out += fmt::format("window\t{}\t{}\n", before_, after_);
  out += fmt::format("smoothing\t{}\n", alpha_);
  out += fmt::format("threshold\t{}\n", threshold_);
  out += fmt::format("evidence\t{}\n", evidence_);
  out += fmt::format("classes\t{}\n", fmt::join(classes_, "\t"));
  out += fmt::format("docs\t{}\n", fmt::join(docs_, "\t"));
  for (const auto& t : tokens_) out += fmt::format("token\t{}\t{}\n", t.token, fmt::join(t.counts, "\t"));
  return out;
}

}  // namespace hale::agent::ci
