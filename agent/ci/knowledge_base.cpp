// Loading, merging, compiling and exporting the failure-pattern knowledge base.
#include "agent/ci/knowledge_base.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "shared/config/config.h"

namespace hale::agent::ci {
namespace fs = std::filesystem;
using config::ConfigError;
using config::FieldSpec;
using config::FieldType;

namespace {

constexpr std::array<std::string_view, kCategoryCount> kCategoryNames = {
    "none",          "dependency", "network",        "test",  "compile", "timeout", "resource-memory",
    "resource-disk", "permission", "infrastructure", "flaky", "unknown"};
constexpr std::array<std::string_view, 7> kRemedyNames = {
    "none", "retry", "clear-cache", "rerun-failed-tests", "free-disk", "retry-less-parallel", "retry-longer-timeout"};
constexpr std::array<std::string_view, 8> kCacheNames = {"npm",   "yarn", "pnpm",  "pip",
                                                         "cargo", "go",   "maven", "gradle"};

constexpr FieldSpec kEntrySpec[] = {
    {"id", FieldType::String, "", "unique name; a later file with the same id replaces the entry", true},
    {"category", FieldType::String, "", "dependency, network, test, compile, timeout, ...", true},
    {"patterns", FieldType::StringArray, "", "RE2 expressions matched against each log line", true},
    {"priority", FieldType::Integer, "50", "1..100: weight of one match"},
    {"explanation", FieldType::String, "", "one sentence shown with the diagnosis", true},
    {"remedy", FieldType::String, "none",
     "retry, clear-cache, rerun-failed-tests, free-disk, retry-less-parallel, retry-longer-timeout, none"},
    {"secondary", FieldType::String, "", "category often co-occurring (optional)"},
    {"cache", FieldType::String, "", "npm, yarn, pnpm, pip, cargo, go, maven or gradle: the cache clear-cache empties"},
    {"suppress", FieldType::Bool, "false",
     "matching lines are notices of a handled problem; other matches on them count 30%"},
    {"requires", FieldType::StringArray, "", "categories of which one must have evidence too for this entry to count"},
};

// More fixed text (or classes) means a more specific signature: "error"
// alone is weak, "file:line:col: error: " is not. Operators do not count.
double specificityOf(std::string_view pattern) {
  int atoms = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\')
      ++i;  // an escape is one atom
    else if (std::string_view("()[]{}|?*+.^$").find(pattern[i]) != std::string_view::npos)
      continue;
    ++atoms;
  }
  return std::min(1.0, 0.5 + atoms / 40.0);
}

// CI systems and build tools prefix lines: timestamps (GitHub Actions,
// Jenkins, Vercel, Netlify's "5:32:08 PM: "), step ids (BuildKit "#12 3.45 "),
// klog ("I0425 07:15:24.206] "), tags ("[test] ", "BUILDSTDERR: "), monorepo
// task names (turbo "app:build: "), compose services ("web_1  | "), workflow
// commands ("##[error]"), the step links a copy from a web UI leaves, and
// indentation. A leading '^' also matches after any of them.
constexpr std::string_view kLinePrefix =
    R"((?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+|)"
    R"(\[\d\d:\d\d:\d\d(?:[.,]\d+)?\]\s*|\d?\d:\d\d:\d\d(?:[.,]\d+)?(?: [AP]M:)?\s+|#\d+ (?:\d+\.\d+ )?|)"
    R"([IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\]\s*|\[[\w.:/ -]{1,40}\]\s+|BUILDSTDERR:\s*|##\[\w+\]|)"
    R"(@?[\w.-]+(?:/[\w.-]+)?:[\w-]+: |[\w.-]+\s+\| |\[\d+\]\(https?://[^)\s]*\)|\s+)*)";

std::string prefixTolerant(const std::string& pattern) {
  size_t at = 0;
  if (pattern.starts_with("(?i)")) at = 4;
  if (pattern.size() <= at || pattern[at] != '^') return pattern;
  return pattern.substr(0, at + 1) + std::string(kLinePrefix) + pattern.substr(at + 1);
}

RE2::Options lineOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(16 << 20);
  return options;
}

template <size_t N>
int indexOf(const std::array<std::string_view, N>& names, std::string_view name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

PatternEntry readEntry(const toml::table& table, const std::string& file) {
  const config::Fields f = config::readFields(table, kEntrySpec, file, "pattern entry");
  PatternEntry e;
  e.id = f.str("id");
  const auto category = parseCategory(f.str("category"));
  if (!category) f.fail("category", fmt::format("unknown category \"{}\"", f.str("category")));
  e.category = *category;
  e.priority = static_cast<int>(f.integer("priority"));
  if (e.priority < 1 || e.priority > 100) f.fail("priority", "priority must be within 1..100");
  e.explanation = f.str("explanation");
  const auto remedy = parseRemedy(f.str("remedy"));
  if (!remedy) f.fail("remedy", fmt::format("unknown remedy \"{}\"", f.str("remedy")));
  e.remedy = *remedy;
  if (auto s = f.optStr("secondary"); s && !s->empty()) {
    e.secondary = parseCategory(*s);
    if (!e.secondary) f.fail("secondary", fmt::format("unknown category \"{}\"", *s));
  }
  e.cache = f.optStr("cache").value_or("");
  if (!e.cache.empty() && indexOf(kCacheNames, e.cache) < 0)
    f.fail("cache", fmt::format("unknown cache \"{}\" (npm, yarn, pnpm, pip, cargo, go, maven, gradle)", e.cache));
  e.suppress = f.boolean("suppress");
  for (const auto& name : f.strings("requires")) {
    const auto required = parseCategory(name);
    if (!required) f.fail("requires", fmt::format("unknown category \"{}\"", name));
    e.requires_any.push_back(*required);
  }
  e.patterns = f.strings("patterns");
  if (e.patterns.empty()) f.fail("patterns", "at least one pattern is required");
  // Checked when the set is built (parsing only, no automaton per pattern:
  // that used to be a third of exec's start-up); errors point at these.
  const auto* array = table["patterns"].as_array();
  for (size_t i = 0; i < e.patterns.size(); ++i) {
    const config::SourcePos at = config::positionOf(*array->get(i), file);
    e.pattern_positions.emplace_back(at.line, at.column);
  }
  e.source_file = file;
  e.source_line = table.source().begin.line;
  return e;
}

void loadTable(KnowledgeBase& kb, const toml::table& root, const std::string& file) {
  static constexpr std::string_view kAllowed[] = {"pattern"};
  config::rejectUnknownKeys(root, kAllowed, file, "pattern file");
  const toml::node* node = root.get("pattern");
  if (!node) return;
  const auto* array = node->as_array();
  if (!array) throw ConfigError(config::positionOf(*node, file), "'pattern' must be an array of tables ([[pattern]])");
  for (const auto& item : *array) {
    const auto* table = item.as_table();
    if (!table) throw ConfigError(config::positionOf(item, file), "'pattern' must be an array of tables ([[pattern]])");
    kb.add(readEntry(*table, file));
  }
}

}  // namespace

std::string_view categoryName(Category c) { return kCategoryNames[static_cast<size_t>(c)]; }
std::optional<Category> parseCategory(std::string_view name) {
  const int i = indexOf(kCategoryNames, name);
  if (i < 0) return std::nullopt;
  return static_cast<Category>(i);
}
std::string_view remedyName(Remedy r) { return kRemedyNames[static_cast<size_t>(r)]; }
std::optional<Remedy> parseRemedy(std::string_view name) {
  const int i = indexOf(kRemedyNames, name);
  if (i < 0) return std::nullopt;
  return static_cast<Remedy>(i);
}

Remedy defaultRemedy(Category category) {
  switch (category) {
    case Category::Network:
    case Category::Infrastructure:
      return Remedy::Retry;
    case Category::ResourceDisk:
      return Remedy::FreeDisk;
    case Category::ResourceMemory:
      return Remedy::RetryLessParallel;
    case Category::Flaky:
      return Remedy::RerunFailedTests;
    default:
      return Remedy::None;
  }
}

KnowledgeBase::KnowledgeBase() = default;
// A background build refers to `this`: it must end before the object moves or goes.
KnowledgeBase::KnowledgeBase(KnowledgeBase&& other) noexcept { *this = std::move(other); }
KnowledgeBase& KnowledgeBase::operator=(KnowledgeBase&& other) noexcept {
  if (this == &other) return *this;
  waitCompiled();
  other.waitCompiled();
  entries_ = std::move(other.entries_);
  model_ = std::move(other.model_);
  compiled_ = std::move(other.compiled_);
  pattern_in_entry_ = std::move(other.pattern_in_entry_);
  set_ = std::move(other.set_);
  any_ = std::move(other.any_);
  building_ = std::move(other.building_);
  union_text_ = std::move(other.union_text_);
  return *this;
}
KnowledgeBase::~KnowledgeBase() { waitCompiled(); }

bool KnowledgeBase::building() const {
  if (!pending_.valid()) return false;
  if (pending_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return true;
  finishPending();
  return false;
}

void KnowledgeBase::finishPending() const {
  pending_.wait();
  pending_ = {};
}

void KnowledgeBase::load(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> files, models;
    for (const auto& de : fs::directory_iterator(path, ec)) {
      if (de.path().extension() == ".toml") files.push_back(de.path().string());
      if (de.path().extension() == ".tsv") models.push_back(de.path().string());
    }
    std::sort(files.begin(), files.end());
    std::sort(models.begin(), models.end());
    for (const auto& f : files) load(f);
    for (const auto& m : models) load(m);
    return;
  }
  if (!fs::exists(path, ec)) throw ConfigError(fmt::format("{}: pattern file or directory not found", path));
  if (fs::path(path).extension() == ".tsv") {
    setModel(FailureModel::load(path));
    return;
  }
  loadTable(*this, config::parseFile(path), path);
}

void KnowledgeBase::loadText(std::string_view text, const std::string& name) {
  loadTable(*this, config::parseText(text, name), name);
}

void KnowledgeBase::add(PatternEntry entry) {
  waitCompiled();
  set_.reset();
  any_.reset();
  for (auto& e : entries_) {
    if (e.id == entry.id) {
      e = std::move(entry);
      return;
    }
  }
  entries_.push_back(std::move(entry));
}

void KnowledgeBase::compile() {
  waitCompiled();
  prepare();
  buildMatchers();
}

void KnowledgeBase::compileInBackground() {
  waitCompiled();
  prepare();
  pending_ = std::async(std::launch::async, [this] {
    try {
      buildMatchers();
    } catch (const std::exception& e) {  // only RE2's memory budget gets here: diagnosis is off
      std::fprintf(stderr, "hale-agent: knowledge base: %s; failures will not be diagnosed\n", e.what());
    }
  });
}

void KnowledgeBase::failPattern(size_t entry, size_t pattern, const std::string& message) const {
  const PatternEntry& e = entries_[entry];
  config::SourcePos at{e.source_file, e.source_line, 1};
  if (pattern < e.pattern_positions.size()) std::tie(at.line, at.column) = e.pattern_positions[pattern];
  throw ConfigError(at, fmt::format("pattern entry '{}': {}", e.id, message));
}

// Parsing every pattern (cheap) finds every invalid one, with its file and line.
void KnowledgeBase::prepare() {
  set_.reset();
  any_.reset();
  building_ = std::make_unique<RE2::Set>(lineOptions(), RE2::UNANCHORED);
  compiled_.clear();
  pattern_in_entry_.clear();
  union_text_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) {
    for (size_t k = 0; k < entries_[i].patterns.size(); ++k) {
      const std::string& written = entries_[i].patterns[k];
      const std::string p = prefixTolerant(written);
      std::string error;
      if (building_->Add(p, &error) < 0) failPattern(i, k, fmt::format("invalid RE2 pattern '{}': {}", written, error));
      compiled_.push_back({i, specificityOf(written)});
      pattern_in_entry_.push_back(k);
      union_text_ += union_text_.empty() ? "(?m:" : "|(?m:";
      union_text_ += p + ")";
    }
  }
}

// Building the automata is the expensive part (about 20 ms for 440 patterns).
void KnowledgeBase::buildMatchers() {
  auto set = std::move(building_);
  if (!compiled_.empty() && !set->Compile()) throw ConfigError("pattern set too large for RE2 (raise max_mem)");
  // A pattern matching the empty line would flag every line of every log.
  std::vector<int> empty_hits;
  if (!compiled_.empty() && set->Match("", &empty_hits) && !empty_hits.empty()) {
    const auto first = static_cast<size_t>(*std::min_element(empty_hits.begin(), empty_hits.end()));
    const size_t entry = compiled_[first].entry;
    failPattern(entry, pattern_in_entry_[first],
                fmt::format("pattern '{}' matches an empty line", entries_[entry].patterns[pattern_in_entry_[first]]));
  }
  // never_nl keeps every match of the union inside one line, like the per-line Set.
  RE2::Options options = lineOptions();
  options.set_never_nl(true);
  // The case-insensitive patterns with `.*` inside multiply the union's DFA
  // states: at 32 MB its cache kept filling on build logs, RE2 fell back to
  // the NFA and diagnosis ran at 0.1 MB/s. The cache grows only as needed.
  options.set_max_mem(64 << 20);
  auto union_re = std::make_unique<RE2>(union_text_.empty() ? "[^\\x00-\\x{10FFFF}]" : union_text_, options);
  if (!union_re->ok()) throw ConfigError("pattern union does not compile: " + union_re->error());
  union_text_.clear();
  union_text_.shrink_to_fit();
  set_ = std::move(set);
  any_ = std::move(union_re);
}

void KnowledgeBase::matchLine(std::string_view line, std::vector<int>* hits) const {
  hits->clear();
  waitCompiled();
  if (compiled_.empty() || !set_) return;
  set_->Match(re2::StringPiece(line.data(), line.size()), hits);
}

size_t KnowledgeBase::findFirst(std::string_view text, size_t from) const {
  waitCompiled();
  if (compiled_.empty() || !any_ || from >= text.size()) return std::string_view::npos;
  re2::StringPiece match;
  if (!any_->Match(re2::StringPiece(text.data(), text.size()), from, text.size(), RE2::UNANCHORED, &match, 1))
    return std::string_view::npos;
  return static_cast<size_t>(match.data() - text.data());
}

KnowledgeBase loadKnowledgeBase(const std::vector<std::string>& paths) {
  KnowledgeBase kb;
  for (const auto& p : paths) kb.load(p);
  kb.compile();
  return kb;
}

std::string entryToToml(const PatternEntry& e) {
  toml::array patterns;
  for (const auto& p : e.patterns) patterns.push_back(p);
  toml::table t{{"id", e.id},
                {"category", std::string(categoryName(e.category))},
                {"priority", e.priority},
                {"patterns", std::move(patterns)},
                {"explanation", e.explanation},
                {"remedy", std::string(remedyName(e.remedy))}};
  if (e.secondary) t.insert("secondary", std::string(categoryName(*e.secondary)));
  if (!e.cache.empty()) t.insert("cache", e.cache);
  if (e.suppress) t.insert("suppress", true);
  if (!e.requires_any.empty()) {
    toml::array required;
    for (const Category c : e.requires_any) required.push_back(std::string(categoryName(c)));
    t.insert("requires", std::move(required));
  }
  std::ostringstream out;
  out << "[[pattern]]\n" << t << "\n";
  return out.str();
}

std::string exportKnowledgeBase(const KnowledgeBase& kb) {
  std::string out = "# Hale failure-pattern knowledge base (merged export)\n\n";
  for (const auto& e : kb.entries()) out += entryToToml(e) + "\n";
  return out;
}

void exportKnowledgeBaseFile(const KnowledgeBase& kb, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  out << exportKnowledgeBase(kb);
  if (!out.flush()) throw ConfigError(fmt::format("{}: cannot write knowledge base", path));
}

void importKnowledgeBaseFile(const std::string& source, const std::string& dest) {
  KnowledgeBase kb = loadKnowledgeBase({source});
  exportKnowledgeBaseFile(kb, dest);
}

std::vector<std::string> defaultPatternDirs(const std::string& fallback) {
  if (const char* env = std::getenv("HALE_PATTERNS_DIR"); env && *env) return {env};
  std::error_code ec;
  if (fs::is_directory("/etc/hale/patterns", ec)) return {"/etc/hale/patterns"};
  if (!fallback.empty()) return {fallback};
  return {};
}

}  // namespace hale::agent::ci
