#pragma once
// Learning, honestly: propose one pattern from the most distinctive failure
// line of a labelled log. Literal text is escaped and then generalised
// (numbers, hex ids, paths, URLs) so the pattern carries over to the next run;
// nothing is stored until the user confirms.
#include <optional>
#include <string>
#include <string_view>

#include "agent/ci/knowledge_base.h"

namespace hale::agent::ci {

struct LearnProposal {
  PatternEntry entry;
  uint64_t source_line = 0;  ///< 1-based line of the log the pattern came from
  std::string source_text;
};

/// Turns one log line into an RE2 pattern matching it and its variants.
std::string generaliseLine(std::string_view line);

/// Picks the most failure-like line of `path` that `kb` does not already
/// explain and proposes an entry of `category`. nullopt when no line qualifies.
/// Throws config::ConfigError when the file cannot be read.
std::optional<LearnProposal> proposePattern(Category category, const std::string& path, const KnowledgeBase& kb);

/// Appends `entry` to the TOML file `local_file` after checking that the file
/// still loads with it; throws config::ConfigError otherwise.
void appendToLocalKnowledgeBase(const PatternEntry& entry, const std::string& local_file);

}  // namespace hale::agent::ci
