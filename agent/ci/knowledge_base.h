#pragma once
// The build-failure knowledge base: TOML entries (config/patterns/*.toml plus
// user files that add or override entries by id), compiled into one RE2::Set
// so that a log line costs one pass whatever the number of patterns.
//
//   [[pattern]]
//   id = "npm-econnreset"
//   category = "network"
//   priority = 70
//   patterns = ['npm ERR! (code|errno) ECONNRESET', 'network read ECONNRESET']
//   explanation = "The npm registry connection was reset."
//   remedy = "retry"
//   secondary = "dependency"   # optional
//   cache = "npm"              # optional: which cache clear-cache targets
//   suppress = false           # optional: lines matching this entry are notices
//                              # ("retrying in 5s") that weaken other matches
//   requires = ["test"]        # optional: counts only when one of these
//                              # categories has evidence in the same log
#include <re2/re2.h>
#include <re2/set.h>

#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/ci/failure_model.h"

namespace hale::agent::ci {

enum class Category {
  None,
  Dependency,
  Network,
  Test,
  Compile,
  Timeout,
  ResourceMemory,
  ResourceDisk,
  Permission,
  Infrastructure,
  Flaky,
  Unknown  ///< the step failed and the log does not say why
};
inline constexpr int kCategoryCount = 12;

/// What `exec` may do after a failed attempt. RetryLessParallel reruns an
/// out-of-memory step with its tool's parallelism lowered; RetryLongerTimeout
/// reruns a hung step with its own time limit raised (both once).
enum class Remedy { None, Retry, ClearCache, RerunFailedTests, FreeDisk, RetryLessParallel, RetryLongerTimeout };

std::string_view categoryName(Category category);
std::optional<Category> parseCategory(std::string_view name);
std::string_view remedyName(Remedy remedy);
/// The remedy a category gets when no entry names one (learned entries, model decisions).
Remedy defaultRemedy(Category category);
std::optional<Remedy> parseRemedy(std::string_view name);

struct PatternEntry {
  std::string id;
  Category category = Category::None;
  std::vector<std::string> patterns;
  int priority = 50;  ///< 1..100
  std::string explanation;
  Remedy remedy = Remedy::None;
  std::optional<Category> secondary;
  std::string cache;      ///< "npm", "yarn", "pnpm", "pip", "cargo", "go", "maven", "gradle" or empty
  bool suppress = false;  ///< matching lines are notices of a handled problem (retrying):
                          ///< other entries' matches on them count for little
  /// The entry counts only when one of these categories has evidence of its
  /// own in the same log (a deadline exceeded is a timeout inside a failing
  /// test, not a network failure); empty: always.
  std::vector<Category> requires_any;
  std::string source_file;  ///< where the entry was (last) defined
  uint32_t source_line = 0;
  /// Where each pattern is written (line, column), so an error names it;
  /// empty for entries built in code (they point at source_line).
  std::vector<std::pair<uint32_t, uint32_t>> pattern_positions;
};

/// One compiled pattern: which entry it belongs to and how specific it is.
struct CompiledPattern {
  size_t entry = 0;
  double specificity = 1.0;  ///< 0.5..1.0, from the pattern's literal length
};

class KnowledgeBase {
 public:
  KnowledgeBase();
  KnowledgeBase(KnowledgeBase&&) noexcept;
  KnowledgeBase& operator=(KnowledgeBase&&) noexcept;
  ~KnowledgeBase();

  /// Loads a TOML file, or every *.toml in a directory (sorted by name), and
  /// a learned model (*.tsv, see failure_model.h) from the same places.
  /// Entries with an id already present replace the earlier definition; a
  /// later model replaces an earlier one.
  /// Throws config::ConfigError (file:line:col) on any problem.
  void load(const std::string& path);
  /// Parses TOML text; `name` stands in for the file name in errors.
  void loadText(std::string_view text, const std::string& name);
  void add(PatternEntry entry);

  /// Builds the RE2::Set; throws ConfigError if a pattern does not compile.
  void compile();
  /// The same, but only the checks (every pattern parses) happen now; the
  /// automata are built on a thread and the first match waits for them.
  /// `exec` starts the step meanwhile. The object must not be moved before
  /// that first use returns.
  void compileInBackground();
  /// True while compileInBackground() is still building (never blocks).
  bool building() const;
  bool compiled() const {
    waitCompiled();
    return set_ != nullptr;
  }

  const std::vector<PatternEntry>& entries() const { return entries_; }
  /// The learned fallback, or null when none was loaded.
  const FailureModel* model() const { return model_.get(); }
  void setModel(FailureModel model) { model_ = std::make_shared<const FailureModel>(std::move(model)); }
  const std::vector<CompiledPattern>& patterns() const { return compiled_; }

  /// Pattern indexes that match `line` (one Set pass); `hits` is cleared first.
  void matchLine(std::string_view line, std::vector<int>* hits) const;
  /// Position of the first match of any pattern in `text` (lines separated by
  /// '\n'), or npos. Lets the caller skip non-matching lines in bulk.
  size_t findFirst(std::string_view text, size_t from) const;

 private:
  std::vector<PatternEntry> entries_;
  std::vector<CompiledPattern> compiled_;
  std::vector<size_t> pattern_in_entry_;  // per compiled pattern: its index in the entry's list
  void prepare();
  void buildMatchers();
  void waitCompiled() const {
    if (pending_.valid()) finishPending();
  }
  void finishPending() const;

  [[noreturn]] void failPattern(size_t entry, size_t pattern, const std::string& message) const;

  std::shared_ptr<const FailureModel> model_;
  std::unique_ptr<RE2::Set> set_;
  std::unique_ptr<RE2> any_;            // union of all patterns in multi-line mode
  std::unique_ptr<RE2::Set> building_;  // between prepare() and buildMatchers()
  std::string union_text_;
  mutable std::future<void> pending_;  // compileInBackground() in progress
};

/// Loads and compiles every path (file or directory) in order.
KnowledgeBase loadKnowledgeBase(const std::vector<std::string>& paths);

/// The merged knowledge base as one TOML document that load() accepts.
std::string exportKnowledgeBase(const KnowledgeBase& kb);
/// Writes exportKnowledgeBase() to `path`; throws ConfigError on I/O failure.
void exportKnowledgeBaseFile(const KnowledgeBase& kb, const std::string& path);
/// Validates `source` (must load and compile) and copies it to `dest`.
void importKnowledgeBaseFile(const std::string& source, const std::string& dest);

/// Directories searched when the caller names none: $HALE_PATTERNS_DIR, else
/// /etc/hale/patterns if present, else `fallback` (e.g. a source tree's config/patterns).
std::vector<std::string> defaultPatternDirs(const std::string& fallback = {});

/// Renders one entry as a TOML [[pattern]] block.
std::string entryToToml(const PatternEntry& entry);

}  // namespace hale::agent::ci
