// Pattern proposal for `diagnose --learn`.
#include "agent/ci/learn.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>

#include "agent/ci/classifier.h"
#include "shared/config/config.h"
#include "shared/util/text.h"

namespace hale::agent::ci {
namespace {

constexpr size_t kMaxLearnLine = 4096;
constexpr size_t kMaxPatternLine = 160;  // long lines are cut: the head is what recurs

bool isHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool isSpace(char c) { return c == ' ' || c == '\t'; }

// Length of a run at line[i] that should become a character class, with the class.
size_t variableRun(std::string_view line, size_t i, std::string* cls) {
  const auto rest = line.substr(i);
  const auto token_end = [&](size_t from) {
    size_t j = from;
    while (j < rest.size() && !isSpace(rest[j]) && rest[j] != '\'' && rest[j] != '"' && rest[j] != ')') ++j;
    return j;
  };
  if (rest.starts_with("http://") || rest.starts_with("https://") || rest[0] == '/' || rest.starts_with("C:\\") ||
      rest.starts_with("./")) {
    *cls = R"(\S+)";
    return token_end(0);
  }
  if (rest.size() > 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') && isHex(rest[2])) {
    size_t j = 2;
    while (j < rest.size() && isHex(rest[j])) ++j;
    *cls = "0[xX][0-9a-fA-F]+";
    return j;
  }
  size_t hex = 0, digits = 0;
  while (hex < rest.size() && isHex(rest[hex])) digits += std::isdigit(static_cast<unsigned char>(rest[hex++])) ? 1 : 0;
  if (hex >= 7 && digits > 0) {
    *cls = "[0-9a-fA-F]+";
    return hex;
  }
  if (std::isdigit(static_cast<unsigned char>(rest[0]))) {
    size_t j = 0;
    while (j < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[j])) || rest[j] == '.')) ++j;
    *cls = R"(\d+(?:\.\d+)*)";
    while (j > 0 && rest[j - 1] == '.') --j;
    return j;
  }
  return 0;
}

// How failure-like a line looks; 0 means "not a candidate".
int failureScore(std::string_view line) {
  static const RE2 kStrong(
      R"((?i)\b(error|failed|failure|fatal|exception|denied|refused|timed? ?out|killed|panic|cannot|unable|not found|no such)\b)");
  static const RE2 kWeak(R"((?i)\b(warn|warning|deprecated|info|debug)\b)");
  const re2::StringPiece text(line.data(), line.size());
  if (!RE2::PartialMatch(text, kStrong)) return 0;
  int score = 10;
  if (RE2::PartialMatch(text, kWeak)) score -= 6;
  if (line.size() > 300) score -= 3;
  if (line.find("    at ") == 0 || line.find("\tat ") == 0) score -= 8;  // stack frames repeat, not distinctive
  return score;
}

}  // namespace

std::string generaliseLine(std::string_view line) {
  while (!line.empty() && isSpace(line.front())) line.remove_prefix(1);
  while (!line.empty() && isSpace(line.back())) line.remove_suffix(1);
  line = line.substr(0, kMaxPatternLine);
  std::string out;
  size_t i = 0;
  while (i < line.size()) {
    std::string cls;
    const bool word_start = i == 0 || !std::isalnum(static_cast<unsigned char>(line[i - 1]));
    if (const size_t n = word_start ? variableRun(line, i, &cls) : 0; n > 0) {
      out += cls;
      i += n;
    } else if (isSpace(line[i])) {
      while (i < line.size() && isSpace(line[i])) ++i;
      out += R"(\s+)";
    } else {
      out += RE2::QuoteMeta(re2::StringPiece(line.data() + i, 1));
      ++i;
    }
  }
  return out;
}

std::optional<LearnProposal> proposePattern(Category category, const std::string& path, const KnowledgeBase& kb) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config::ConfigError(fmt::format("{}: cannot read log", path));
  std::string raw, line, best;
  std::vector<int> hits;
  uint64_t number = 0, best_line = 0;
  int best_score = 0;
  while (std::getline(in, raw)) {
    ++number;
    line.clear();
    if (!cleanLogText(raw, line)) line = raw;
    line = sanitizeUtf8(std::string_view(line).substr(0, kMaxLearnLine));
    if (kb.compiled()) {
      kb.matchLine(line, &hits);
      // Already explained by a cause: not what we need to learn. (Lines that
      // only look like errors, or only say that the step failed, are not.)
      const auto explains = [&](int h) {
        const Category c = kb.entries()[kb.patterns()[static_cast<size_t>(h)].entry].category;
        return c != Category::Unknown;
      };
      if (std::any_of(hits.begin(), hits.end(), explains)) continue;
    }
    // Later lines win ties: the failure is usually reported last.
    if (const int score = failureScore(line); score > 0 && score >= best_score) {
      best_score = score;
      best = line;
      best_line = number;
    }
  }
  if (best_score <= 0) return std::nullopt;
  LearnProposal p;
  p.source_line = best_line;
  p.source_text = best;
  p.entry.patterns = {generaliseLine(best)};
  p.entry.category = category;
  p.entry.priority = 60;
  p.entry.remedy = defaultRemedy(category);
  p.entry.id = fmt::format("local-{}-{:08x}", categoryName(category),
                           static_cast<uint32_t>(std::hash<std::string>{}(p.entry.patterns[0])));
  p.entry.explanation =
      fmt::format("Learned from {} line {}.", std::filesystem::path(path).filename().string(), best_line);
  return p;
}

void appendToLocalKnowledgeBase(const PatternEntry& entry, const std::string& local_file) {
  std::string existing;
  if (std::ifstream in(local_file, std::ios::binary); in) existing.assign(std::istreambuf_iterator<char>(in), {});
  if (!existing.empty() && existing.back() != '\n') existing += '\n';
  const std::string updated = existing + "\n" + entryToToml(entry);
  KnowledgeBase check;
  check.loadText(updated, local_file);  // throws before anything is written
  check.compile();
  std::ofstream out(local_file, std::ios::app | std::ios::binary);
  out << updated.substr(existing.size());
  if (!out.flush()) throw config::ConfigError(fmt::format("{}: cannot append to knowledge base", local_file));
}

}  // namespace hale::agent::ci
