// A byte-at-a-time XML tokenizer that only understands what JUnit reports
// need: <testcase>, <failure>/<error>, <skipped>, Surefire's flaky elements.
#include "agent/ci/junit_report.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "shared/util/text.h"

namespace hale::agent::ci {
namespace {

std::string decodeEntities(std::string_view s) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool replaced = false;
    for (const auto& [entity, c] : kEntities) {
      if (s.substr(i, entity.size()) == entity) {
        out.push_back(c);
        i += entity.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(s[i]);
  }
  return sanitizeUtf8(out);
}

// The value of attribute `key` in `attrs` (name="v" or name='v'), or empty.
std::string attribute(std::string_view attrs, std::string_view key) {
  size_t at = 0;
  while ((at = attrs.find(key, at)) != std::string_view::npos) {
    const bool starts_word = at == 0 || attrs[at - 1] == ' ' || attrs[at - 1] == '\t' || attrs[at - 1] == '\n';
    size_t i = at + key.size();
    while (i < attrs.size() && (attrs[i] == ' ' || attrs[i] == '\t')) ++i;
    if (starts_word && i + 1 < attrs.size() && attrs[i] == '=') {
      ++i;
      while (i < attrs.size() && (attrs[i] == ' ' || attrs[i] == '\t')) ++i;
      if (i < attrs.size() && (attrs[i] == '"' || attrs[i] == '\'')) {
        const size_t end = attrs.find(attrs[i], i + 1);
        if (end == std::string_view::npos) return {};
        return decodeEntities(attrs.substr(i + 1, end - i - 1));
      }
    }
    at += key.size();
  }
  return {};
}

}  // namespace

void JUnitParser::feed(std::string_view xml) {
  for (const char c : xml) {
    switch (mode_) {
      case Mode::Text:
        if (c == '<') {
          mode_ = Mode::Tag;
          tag_.clear();
          tag_overflow_ = false;
          quote_ = 0;
        }
        break;
      case Mode::Tag:
        if (quote_ == 0 && c == '>') {
          mode_ = Mode::Text;
          if (!tag_overflow_) handleTag(tag_);
          break;
        }
        if (quote_ == 0 && (c == '"' || c == '\''))
          quote_ = c;
        else if (quote_ == c)
          quote_ = 0;
        if (tag_.size() < limits_.max_tag)
          tag_.push_back(c);
        else
          tag_overflow_ = true;
        if (tag_ == "!--") mode_ = Mode::Comment, end_window_.clear();
        if (tag_ == "![CDATA[") mode_ = Mode::CData, end_window_.clear();
        break;
      case Mode::Comment:
      case Mode::CData: {
        end_window_.push_back(c);
        if (end_window_.size() > 3) end_window_.erase(0, 1);
        if (end_window_ == (mode_ == Mode::Comment ? "-->" : "]]>")) mode_ = Mode::Text;
        break;
      }
    }
  }
}

void JUnitParser::handleTag(std::string_view tag) {
  if (tag.empty() || tag[0] == '?' || tag[0] == '!') return;
  if (tag[0] == '/') {
    if (tag.substr(1, 8) == "testcase") finishCase();
    return;
  }
  const bool self_closing = tag.back() == '/';
  if (self_closing) tag.remove_suffix(1);
  const size_t name_end = tag.find_first_of(" \t\r\n");
  openElement(tag.substr(0, name_end), name_end == std::string_view::npos ? "" : tag.substr(name_end), self_closing);
}

void JUnitParser::openElement(std::string_view name, std::string_view attrs, bool self_closing) {
  if (name == "testcase") {
    if (case_) finishCase();  // an unclosed <testcase>: tolerate it
    const std::string cls = attribute(attrs, "classname");
    const std::string test = attribute(attrs, "name");
    case_ = Case{};
    case_->name = cls.empty() ? test : cls + "." + test;
    if (self_closing) finishCase();
    return;
  }
  if (name == "testsuite") {
    pytest_suite_ = attribute(attrs, "name") == "pytest";
    return;
  }
  if (!case_) return;
  if (name == "failure" || name == "error" || name == "rerunFailure" || name == "rerunError") {
    case_->failed = true;
    if (case_->message.empty()) case_->message = attribute(attrs, "message").substr(0, limits_.max_message);
  } else if (name == "flakyFailure" || name == "flakyError") {
    case_->flaky = true;
    if (case_->message.empty()) case_->message = attribute(attrs, "message").substr(0, limits_.max_message);
  } else if (name == "skipped") {
    case_->skipped = true;
  }
}

void JUnitParser::finishCase() {
  if (!case_) return;
  ++cases_;
  Case c = std::move(*case_);
  case_.reset();
  TestOutcome now = c.failed    ? TestOutcome::Failed
                    : c.skipped ? TestOutcome::Skipped
                    : c.flaky   ? TestOutcome::Flaky
                                : TestOutcome::Passed;
  // pytest-rerunfailures (16.6.1 and later) writes one record per attempt,
  // the failed ones empty: a repeat within one pytest report is a rerun.
  const bool repeated = pytest_suite_ && !in_report_.insert(c.name).second;
  if (in_report_.size() > limits_.max_tests) in_report_.clear();
  auto it = outcomes_.find(c.name);
  if (it == outcomes_.end()) {
    if (outcomes_.size() >= limits_.max_tests) {
      truncated_ = true;
      return;
    }
    it = outcomes_.emplace(c.name, now).first;
  } else if (now == TestOutcome::Passed && (it->second == TestOutcome::Failed || it->second == TestOutcome::Flaky)) {
    now = TestOutcome::Flaky;  // failed in an earlier run, passed now
  } else if (now == TestOutcome::Passed && repeated) {
    now = TestOutcome::Flaky;
  }
  it->second = now;
  if ((now == TestOutcome::Failed || now == TestOutcome::Flaky) && !c.message.empty()) messages_[c.name] = c.message;
}

void JUnitParser::startReport() {
  mode_ = Mode::Text;
  case_.reset();
  pytest_suite_ = false;
  in_report_.clear();
}

JUnitSummary JUnitParser::summary() const {
  JUnitSummary s;
  s.cases = cases_;
  s.truncated = truncated_;
  for (const auto& [name, outcome] : outcomes_) {
    switch (outcome) {
      case TestOutcome::Passed:
        s.passed.push_back(name);
        break;
      case TestOutcome::Failed:
        s.failed.push_back(name);
        break;
      case TestOutcome::Skipped:
        s.skipped.push_back(name);
        break;
      case TestOutcome::Flaky:
        s.flaky.push_back(name);
        break;
    }
    if (auto m = messages_.find(name); m != messages_.end() && outcome != TestOutcome::Passed)
      s.messages[name] = m->second;
  }
  return s;
}

std::optional<JUnitSummary> parseJUnitFile(const std::string& path, JUnitLimits limits) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return std::nullopt;
  JUnitParser parser(limits);
  auto buffer = std::make_unique<char[]>(1 << 16);
  size_t n = 0;
  while ((n = std::fread(buffer.get(), 1, 1 << 16, file)) > 0) parser.feed(std::string_view(buffer.get(), n));
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return std::nullopt;
  return parser.summary();
}

void refineWithJUnit(Diagnosis& d, const JUnitSummary& summary) {
  for (const auto& name : summary.failed)
    if (std::find(d.failed_tests.begin(), d.failed_tests.end(), name) == d.failed_tests.end())
      d.failed_tests.push_back(name);
  const Category from_reports = categoryOf(summary);
  const bool log_shows_tests = d.category == Category::Test || d.category == Category::None;
  if (from_reports == Category::Flaky && log_shows_tests) {
    d.secondary = Category::Test;
    d.category = Category::Flaky;
    d.remedy = Remedy::RerunFailedTests;
    d.confidence = std::max(d.confidence, 0.8);
    d.explanation = "Test reports show tests that failed and then passed on a rerun: flaky tests.";
  } else if (from_reports == Category::Test && d.category == Category::None) {
    d.category = Category::Test;
    d.confidence = 0.8;
    d.explanation = "Test reports list failed tests.";
  }
}

Category categoryOf(const JUnitSummary& summary) {
  if (!summary.failed.empty()) return Category::Test;
  if (!summary.flaky.empty()) return Category::Flaky;
  return Category::None;
}

}  // namespace hale::agent::ci
