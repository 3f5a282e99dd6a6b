#include "agent/checks/log_matcher.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace hale::agent::checks {

namespace {
std::unique_ptr<RE2::Set> compileInline(const config::Fields& f, std::vector<std::string>& ids) {
  const auto patterns = f.strings("patterns");
  if (patterns.empty()) return nullptr;
  RE2::Options options;
  options.set_log_errors(false);
  auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (size_t i = 0; i < patterns.size(); ++i) {
    std::string error;
    if (set->Add(patterns[i], &error) < 0)
      f.fail("patterns", fmt::format("pattern {} ('{}') does not compile: {}", i + 1, patterns[i], error));
    ids.push_back(fmt::format("pattern {}", i + 1));
  }
  if (!set->Compile()) f.fail("patterns", "the patterns need more memory than RE2 allows; use fewer or simpler ones");
  return set;
}

// One regular expression for all inline patterns, searched over many lines at
// once: multi-line, and never_nl keeps each match inside one line, as the
// per-line set sees them (the knowledge base builds its union the same way).
std::unique_ptr<RE2> compileUnion(const config::Fields& f) {
  std::string text;
  for (const auto& p : f.strings("patterns")) text += (text.empty() ? "(?m:" : "|(?m:") + p + ")";
  if (text.empty()) return nullptr;
  RE2::Options options;
  options.set_log_errors(false);
  options.set_never_nl(true);
  options.set_max_mem(32 << 20);
  auto re = std::make_unique<RE2>(text, options);
  if (!re->ok()) f.fail("patterns", "the patterns do not compile together: " + re->error());
  return re;
}
}  // namespace

LogMatcher::LogMatcher(const config::Fields& f)
    : inline_ids_(), inline_(compileInline(f, inline_ids_)), inline_union_(compileUnion(f)) {
  std::vector<std::string> sources;
  for (const char* key : {"patterns_file", "patterns_dir"}) {
    if (!f.has(key)) continue;
    std::error_code ec;
    if (!std::filesystem::exists(f.str(key), ec)) f.fail(key, fmt::format("'{}' does not exist", f.str(key)));
    sources.push_back(f.str(key));
  }
  std::vector<ci::Category> wanted;
  for (const auto& name : f.strings("categories")) {
    auto c = ci::parseCategory(name);
    if (!c || *c == ci::Category::None) f.fail("categories", fmt::format("'{}' is not a failure category", name));
    wanted.push_back(*c);
  }
  if (!wanted.empty() && sources.empty()) f.fail("categories", "needs patterns_file or patterns_dir");
  if (!sources.empty()) {
    kb_ = std::make_unique<ci::KnowledgeBase>(ci::loadKnowledgeBase(sources));
    for (const auto& e : kb_->entries()) {
      const bool wanted_category =
          wanted.empty() || std::find(wanted.begin(), wanted.end(), e.category) != wanted.end();
      counted_.push_back(e.category != ci::Category::None && !e.suppress && wanted_category);
    }
  }
  if (size() == 0) f.fail("patterns", "nothing to match: give patterns, or patterns_file/patterns_dir with entries");
}

LogMatcher::LogMatcher(LogMatcher&&) noexcept = default;
LogMatcher::~LogMatcher() = default;

size_t LogMatcher::size() const {
  size_t n = inline_ids_.size();
  for (bool c : counted_) n += c ? 1 : 0;
  return n;
}

size_t LogMatcher::findFirst(std::string_view text, size_t from) const {
  size_t first = std::string_view::npos;
  if (inline_union_ && from < text.size()) {
    re2::StringPiece hit;
    if (inline_union_->Match(re2::StringPiece(text.data(), text.size()), from, text.size(), RE2::UNANCHORED, &hit, 1))
      first = static_cast<size_t>(hit.data() - text.data());
  }
  if (kb_) first = std::min(first, kb_->findFirst(text, from));
  return first;
}

std::optional<std::string_view> LogMatcher::match(std::string_view line) const {
  if (inline_) {
    hits_.clear();
    if (inline_->Match(line, &hits_) && !hits_.empty())
      return inline_ids_[static_cast<size_t>(*std::min_element(hits_.begin(), hits_.end()))];
  }
  if (!kb_) return std::nullopt;
  kb_->matchLine(line, &hits_);
  const ci::PatternEntry* best = nullptr;
  for (int hit : hits_) {
    const size_t entry = kb_->patterns()[static_cast<size_t>(hit)].entry;
    if (!counted_[entry]) continue;
    const auto& e = kb_->entries()[entry];
    if (!best || e.priority > best->priority) best = &e;
  }
  if (!best) return std::nullopt;
  return std::string_view(best->id);
}

}  // namespace hale::agent::checks
