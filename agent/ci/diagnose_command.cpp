// Argument parsing and output for `hale-agent diagnose`.
#include "agent/ci/diagnose_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <optional>

#include "agent/ci/junit_report.h"
#include "agent/ci/learn.h"
#include "shared/config/config.h"

namespace hale::agent::ci {
namespace {

constexpr std::string_view kUsage =
    "usage: hale-agent diagnose [--json] [--failed] [--patterns DIR|FILE]... [--junit REPORT.xml]... FILE...|-\n"
    "       hale-agent diagnose --learn CATEGORY [--confirm --local FILE] [--patterns DIR|FILE]... FILE\n"
    "       hale-agent diagnose --watch DIR... [--json] [--poll DUR] [--run-gap DUR] [--config FILE]\n"
    "\n"
    "Diagnoses finished build logs: category, confidence, who decided (the patterns or the\n"
    "learned model), the lines it rests on, an explanation and the suggested remedy; for a\n"
    "permission failure, the refused resource. With several files, --json prints one object\n"
    "per line (with \"file\").\n"
    "\n"
    "How it decides: the patterns (RE2, *.toml) score every category; a clear leader among\n"
    "the causes is the diagnosis. When no pattern names a cause (only error lines, or a\n"
    "step-failure marker such as \"Process completed with exit code 1\") or causes of\n"
    "unrelated categories score close together, the learned model (model.tsv, naive Bayes\n"
    "over the tokens around the first error) decides if its posterior reaches its threshold;\n"
    "otherwise a failed step is `unknown`, never a guess. A log without error text is `none`.\n"
    "--json lists the model's label, posterior and the tokens that weighed most.\n"
    "\n"
    "--failed       the step is known to have failed (non-zero exit): never `none`\n"
    "--patterns     may be repeated; later files override entries with the same id, a later\n"
    "               model.tsv replaces an earlier one. Default: $HALE_PATTERNS_DIR, else\n"
    "               /etc/hale/patterns.\n"
    "--learn        proposes a pattern from the log's most distinctive unexplained failure\n"
    "               line; --confirm appends it to the --local knowledge base file.\n"
    "--junit        adds test reports: failed test names, and flaky tests (failed, then passed).\n"
    "--watch        classifies logs and JUnit reports as they are completed in DIR\n"
    "               (hale-agent diagnose --watch DIR --help for details).\n"
    "Retrain the model: hale-agent patterns train --help (docs/builds.md).\n";

struct Options {
  bool json = false;
  bool help = false;
  bool confirm = false;
  bool failed = false;  // the step is known to have failed (non-zero exit)
  std::optional<std::string> learn;
  std::string local;
  std::vector<std::string> patterns;
  std::vector<std::string> junit;
  std::vector<std::string> files;
};

// Returns an error message, or empty on success.
std::string parseArgs(const std::vector<std::string>& args, Options& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h")
      o.help = true;
    else if (a == "--json")
      o.json = true;
    else if (a == "--confirm")
      o.confirm = true;
    else if (a == "--failed")
      o.failed = true;
    else if (a == "--patterns") {
      if (!value(v)) return "--patterns needs a value";
      o.patterns.push_back(v);
    } else if (a == "--junit") {
      if (!value(v)) return "--junit needs a file";
      o.junit.push_back(v);
    } else if (a == "--local") {
      if (!value(o.local)) return "--local needs a value";
    } else if (a == "--learn") {
      if (!value(v)) return "--learn needs a category";
      o.learn = v;
    } else if (a.size() > 1 && a[0] == '-')
      return "unknown option " + a;
    else
      o.files.push_back(a);
  }
  if (o.help) return {};
  if (o.files.empty()) return "no log file given (use - for stdin)";
  if (o.learn && o.files.size() > 1) return "--learn takes one log file";
  if (o.confirm && o.local.empty()) return "--confirm needs --local FILE";
  if (o.confirm && !o.learn) return "--confirm is only valid with --learn";
  return {};
}

int usageError(const std::string& message) {
  std::fprintf(stderr, "hale-agent diagnose: %s\n%s", message.c_str(), kUsage.data());
  return 2;
}

int runLearn(const Options& o, const KnowledgeBase& kb) {
  const auto category = parseCategory(*o.learn);
  if (!category) return usageError("unknown category " + *o.learn);
  const auto proposal = proposePattern(*category, o.files[0], kb);
  if (!proposal) {
    std::fprintf(stderr, "hale-agent diagnose: no unexplained failure-like line in %s\n", o.files[0].c_str());
    return 1;
  }
  std::printf("# from line %llu: %s\n%s", static_cast<unsigned long long>(proposal->source_line),
              proposal->source_text.c_str(), entryToToml(proposal->entry).c_str());
  if (!o.confirm) {
    std::printf("# not stored: re-run with --confirm --local FILE to append it\n");
    return 0;
  }
  appendToLocalKnowledgeBase(proposal->entry, o.local);
  std::printf("# appended to %s\n", o.local.c_str());
  return 0;
}

}  // namespace

std::string diagnosisToJson(const Diagnosis& d, const std::string& file) {
  nlohmann::json j;
  j["category"] = categoryName(d.category);
  j["secondary"] = d.secondary ? nlohmann::json(categoryName(*d.secondary)) : nlohmann::json(nullptr);
  j["confidence"] = std::round(d.confidence * 1000.0) / 1000.0;
  j["decided_by"] = decidedByName(d.decided_by);
  if (!d.model_label.empty()) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& [token, weight] : d.model_tokens)
      tokens.push_back({{"token", token}, {"weight", std::round(weight * 100.0) / 100.0}});
    j["model"] = {{"label", d.model_label},
                  {"posterior", std::round(d.model_posterior * 1000.0) / 1000.0},
                  {"tokens", std::move(tokens)}};
  }
  if (!d.refused.empty()) j["refused"] = d.refused;
  j["entry"] = d.entry_id;
  j["explanation"] = d.explanation;
  j["remedy"] = remedyName(d.remedy);
  j["lines"] = d.lines;
  j["bytes"] = d.bytes;
  j["evidence"] = nlohmann::json::array();
  for (const auto& e : d.evidence) j["evidence"].push_back({{"line", e.line}, {"text", e.text}, {"entry", e.entry_id}});
  j["failed_tests"] = d.failed_tests;
  if (!file.empty()) j["file"] = file;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string diagnosisToText(const Diagnosis& d) {
  std::string out = fmt::format("category:    {}\n", categoryName(d.category));
  if (d.secondary) out += fmt::format("secondary:   {}\n", categoryName(*d.secondary));
  out += fmt::format("confidence:  {:.2f} (decided by the {})\n", d.confidence, decidedByName(d.decided_by));
  out += fmt::format("explanation: {}\n", d.explanation);
  out += fmt::format("remedy:      {}\n", remedyName(d.remedy));
  if (!d.refused.empty()) out += fmt::format("refused:     {}\n", d.refused);
  if (!d.model_label.empty()) {
    std::string tokens;
    for (const auto& [token, weight] : d.model_tokens) tokens += fmt::format(" {} ({:+.1f})", token, weight);
    out += fmt::format("model:       {} {:.2f}{}{}\n", d.model_label, d.model_posterior, tokens.empty() ? "" : " -",
                       tokens);
  }
  if (!d.failed_tests.empty()) out += fmt::format("failed tests: {}\n", fmt::join(d.failed_tests, " "));
  if (!d.evidence.empty()) out += "evidence:\n";
  for (const auto& e : d.evidence) out += fmt::format("  {:>7}: {}\n", e.line, e.text);
  return out;
}

namespace {

// Diagnoses one log; returns an error message, or empty after printing.
std::string diagnoseOne(const Options& o, const KnowledgeBase& kb, const std::string& file) {
  Classifier classifier(kb);
  if (o.failed) classifier.markStepFailed();
  std::string error;
  if (!diagnoseFile(file, classifier, &error)) return error;
  Diagnosis d = classifier.diagnose();
  for (const auto& report : o.junit) {
    const auto summary = parseJUnitFile(report);
    if (!summary) return report + ": cannot read test report";
    refineWithJUnit(d, *summary);
  }
  std::string text;
  if (o.json) {
    text = diagnosisToJson(d, o.files.size() > 1 ? file : std::string()) + "\n";
  } else {
    if (o.files.size() > 1) text = fmt::format("== {}\n", file);
    text += diagnosisToText(d);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return {};
}

}  // namespace

int runDiagnoseCommand(const std::vector<std::string>& args) {
  Options o;
  if (const std::string error = parseArgs(args, o); !error.empty()) return usageError(error);
  if (o.help) {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  if (o.patterns.empty()) o.patterns = defaultPatternDirs();
  if (o.patterns.empty()) return usageError("no pattern directory: pass --patterns or set HALE_PATTERNS_DIR");
  try {
    const KnowledgeBase kb = loadKnowledgeBase(o.patterns);
    if (o.learn) return runLearn(o, kb);
    int status = 0;
    for (const auto& file : o.files) {
      if (const std::string error = diagnoseOne(o, kb, file); !error.empty()) {
        std::fprintf(stderr, "hale-agent diagnose: %s\n", error.c_str());
        status = 2;
      }
    }
    return status;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "hale-agent diagnose: %s\n", e.what());
    return 2;
  }
}

}  // namespace hale::agent::ci
