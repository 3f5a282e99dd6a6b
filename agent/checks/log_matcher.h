#pragma once
// What a `log` check counts as a match: its inline RE2 `patterns`, and the
// failure entries of knowledge-base files in the build-log format
// (config/patterns/*.toml, agent/ci/knowledge_base.h), so the shipped
// signatures of OOM kills, full disks, TLS and connection errors work on
// service logs too. Knowledge-base entries of category "none" (success
// markers) and `suppress` entries (retry notices) never count.
#include "agent/ci/knowledge_base.h"
#include "shared/config/config.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::checks {

class LogMatcher {
 public:
  /// From a check's `patterns`, `patterns_file`, `patterns_dir` and
  /// `categories`; throws config::ConfigError naming the key (or the pattern file).
  explicit LogMatcher(const config::Fields& fields);
  LogMatcher(LogMatcher&&) noexcept;
  ~LogMatcher();

  /// The id of what matched `line` (a knowledge-base entry id, or "pattern N"
  /// for the Nth inline pattern); nullopt when nothing did. One RE2::Set pass
  /// per source; not thread-safe (one check runs once at a time).
  std::optional<std::string_view> match(std::string_view line) const;
  /// Where in `text` (whole lines, each ended by '\n') from `from` (a line
  /// start) the first line that may match begins to match, or npos: lines
  /// before it match nothing, so a caller skips them in one pass. A hit
  /// still needs match() on its line (the knowledge base's success markers
  /// and notices are found here too).
  size_t findFirst(std::string_view text, size_t from) const;
  /// How many rules can match (inline patterns plus counted entries).
  size_t size() const;

 private:
  std::vector<std::string> inline_ids_;  // before inline_: compiling it fills them
  std::unique_ptr<RE2::Set> inline_;
  std::unique_ptr<RE2> inline_union_;  // the inline patterns as one, for findFirst
  std::unique_ptr<ci::KnowledgeBase> kb_;
  std::vector<bool> counted_;  // per knowledge-base entry
  mutable std::vector<int> hits_;
};

}  // namespace hale::agent::checks
