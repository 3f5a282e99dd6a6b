// Watch mode: one completed file in, one diagnosis out.
#include "agent/ci/build_watch.h"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "agent/ci/diagnose_command.h"
#include "agent/platform/dir_watcher.h"
#include "shared/config/config.h"
#include "shared/util/text.h"

namespace hale::agent::ci {
namespace fs = std::filesystem;
namespace {

constexpr size_t kNamesInExplanation = 3;

std::string someNames(const std::vector<std::string>& names) {
  std::vector<std::string> shown(names.begin(),
                                 names.begin() + static_cast<long>(std::min(names.size(), kNamesInExplanation)));
  std::string out = fmt::format("{}", fmt::join(shown, ", "));
  if (names.size() > shown.size()) out += fmt::format(" and {} more", names.size() - shown.size());
  return out;
}

void addTestEvidence(Diagnosis& d, const JUnitSummary& t, const std::vector<std::string>& names, std::string_view label,
                     Category category) {
  for (const auto& name : names) {
    if (d.evidence.size() >= 8) return;
    const auto m = t.messages.find(name);
    d.evidence.push_back({0,
                          fmt::format("{} {}{}{}", label, name, m == t.messages.end() ? "" : ": ",
                                      m == t.messages.end() ? "" : m->second),
                          "junit", category});
  }
}

}  // namespace

bool looksLikeJUnit(const std::string& path) {
  if (path.ends_with(".xml")) return true;
  std::ifstream in(path, std::ios::binary);
  char head[256] = {};
  in.read(head, sizeof head - 1);
  const std::string_view text(head, static_cast<size_t>(in.gcount()));
  return text.find("<testsuite") != std::string_view::npos;
}

Diagnosis diagnosisFromTests(const JUnitSummary& t) {
  Diagnosis d;
  d.failed_tests = t.failed;
  if (!t.failed.empty()) {
    d.category = Category::Test;
    d.confidence = 0.9;
    d.explanation =
        fmt::format("{} test{} failed: {}.", t.failed.size(), t.failed.size() == 1 ? "" : "s", someNames(t.failed));
    if (!t.flaky.empty()) d.secondary = Category::Flaky;
  } else if (!t.flaky.empty()) {
    d.category = Category::Flaky;
    d.confidence = 0.9;
    d.remedy = Remedy::RerunFailedTests;
    d.explanation = fmt::format("{} test{} failed, then passed on a rerun: {}.", t.flaky.size(),
                                t.flaky.size() == 1 ? "" : "s", someNames(t.flaky));
  } else {
    d.explanation = fmt::format("{} test run{} without a failure.", t.cases, t.cases == 1 ? "" : "s");
  }
  d.entry_id = "junit";
  addTestEvidence(d, t, t.failed, "FAILED", Category::Test);
  addTestEvidence(d, t, t.flaky, "FLAKY", Category::Flaky);
  return d;
}

Result<WatchedFile> BuildFileClassifier::classify(const std::string& path) {
  WatchedFile out;
  out.path = path;
  if (!looksLikeJUnit(path)) {
    Classifier classifier(kb_);
    std::string error;
    if (!diagnoseFile(path, classifier, &error)) return makeError(error);
    out.diagnosis = classifier.diagnose();
    return out;
  }
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return makeError(fmt::format("cannot read {}", path));
  const auto now = std::chrono::steady_clock::now();
  const std::string dir = fs::path(path).parent_path().string();
  if (const auto it = runs_.find(dir); it != runs_.end() && now - it->second.last > run_gap_)
    runs_.erase(it);  // a new run
  Run& run = runs_.try_emplace(dir).first->second;
  run.last = now;
  run.parser.startReport();
  auto buffer = std::make_unique<char[]>(1 << 16);
  size_t n = 0;
  while ((n = std::fread(buffer.get(), 1, 1 << 16, file)) > 0) run.parser.feed(std::string_view(buffer.get(), n));
  std::fclose(file);
  out.junit = true;
  out.tests = run.parser.summary();
  out.diagnosis = diagnosisFromTests(*out.tests);
  return out;
}

BuildAttempt attemptFor(const WatchedFile& f) {
  BuildAttempt a;
  a.command = {"watch", f.path};
  a.exit_code = -1;  // no process: the file is all there is
  a.category = f.diagnosis.category;
  a.secondary = f.diagnosis.secondary;
  a.confidence = f.diagnosis.confidence;
  a.explanation = f.diagnosis.explanation;
  a.remedy = f.diagnosis.remedy;
  a.evidence = f.diagnosis.evidence;
  return a;
}

std::string watchedFileToText(const WatchedFile& f) {
  return fmt::format("{}: {} ({:.2f}) {}\n", f.path, categoryName(f.diagnosis.category), f.diagnosis.confidence,
                     f.diagnosis.explanation);
}

std::string watchedFileToJson(const WatchedFile& f) {
  nlohmann::json j = nlohmann::json::parse(diagnosisToJson(f.diagnosis));
  j["file"] = f.path;
  j["kind"] = f.junit ? "junit" : "log";
  if (f.tests) {
    j["tests"] = {{"cases", f.tests->cases},
                  {"failed", f.tests->failed},
                  {"flaky", f.tests->flaky},
                  {"skipped", f.tests->skipped.size()},
                  {"passed", f.tests->passed.size()}};
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

constexpr config::FieldSpec kBuildsFields[] = {
    {"watch_dirs", config::FieldType::StringArray, "",
     "directories where build logs and JUnit XML reports are dropped; each completed file is diagnosed and recorded"},
    {"patterns", config::FieldType::StringArray, "",
     "knowledge base files or directories (default: $HALE_PATTERNS_DIR, /etc/hale/patterns)"},
    {"poll_interval", config::FieldType::Duration, "0s",
     "scan the directories at this interval instead of inotify (0: inotify)"},
    {"run_gap", config::FieldType::Duration, "30m",
     "JUnit reports in one directory without a pause this long form one run"},
};

}  // namespace

std::span<const config::FieldSpec> buildsFields() { return kBuildsFields; }

WatchSettings watchSettingsFrom(const config::Fields& f) {
  WatchSettings w;
  if (f.has("watch_dirs")) w.dirs = f.strings("watch_dirs");
  for (const auto& d : w.dirs)
    if (d.empty() || d[0] != '/') f.fail("watch_dirs", fmt::format("'{}' is not an absolute path", d));
  if (f.has("patterns")) w.patterns = f.strings("patterns");
  w.poll_interval = f.duration("poll_interval");
  w.run_gap = f.duration("run_gap");
  if (w.run_gap.count() <= 0) f.fail("run_gap", "must be positive");
  return w;
}

wire::BuildRecord toBuildRecord(const BuildAttempt& a, uint64_t build_id, int64_t at_ms) {
  wire::BuildRecord r;
  r.build_id = build_id;
  r.attempt = static_cast<uint32_t>(a.attempt);
  std::string command;
  for (const auto& word : a.command) command += (command.empty() ? "" : " ") + word;
  r.command = sanitizeUtf8(command);
  r.exit_code = a.exit_code;
  r.category = std::string(categoryName(a.category));
  r.secondary_category = a.secondary ? std::string(categoryName(*a.secondary)) : "";
  r.confidence = static_cast<float>(a.confidence);
  r.remedy = std::string(remedyName(a.remedy));
  r.duration_ms = static_cast<uint32_t>(a.duration.count());
  for (const auto& e : a.evidence) {
    if (r.evidence.size() >= 15) break;
    r.evidence.push_back(e.line ? fmt::format("line {}: {}", e.line, e.text) : e.text);
  }
  if (a.refused != Remedy::None) {
    r.remedy = fmt::format("refused:{}", remedyName(a.refused));
    r.evidence.push_back(fmt::format("policy refused {}: {}", remedyName(a.refused), a.refusal));
  }
  r.at_ms = at_ms;
  return r;
}

namespace {

constexpr std::string_view kWatchUsage =
    "usage: hale-agent diagnose --watch DIR [--watch DIR]... [--json] [--patterns DIR|FILE]...\n"
    "                           [--poll DUR] [--run-gap DUR] [--config FILE]\n"
    "\n"
    "Classifies every build log and JUnit XML report completed in DIR (closed after\n"
    "writing, or renamed in) until SIGINT/SIGTERM: one line per file, or one JSON\n"
    "object with --json. JUnit reports written into one directory without a pause\n"
    "of --run-gap (default 30m) count as one run: a test that failed in one and\n"
    "passed in a later one is flaky. --poll DUR scans instead of using inotify.\n"
    "With an agent configuration, each file is stored and sent as a BuildEvent.\n";

struct WatchOptions {
  std::vector<std::string> dirs;
  std::vector<std::string> patterns;
  bool json = false;
  std::optional<std::chrono::milliseconds> poll;
  std::chrono::milliseconds run_gap = std::chrono::minutes(30);
};

std::string parseWatchArgs(const std::vector<std::string>& args, WatchOptions& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      o.json = true;
      continue;
    }
    if (i + 1 >= args.size()) return a + ": missing value (or unknown option)";
    const std::string& v = args[++i];
    if (a == "--watch")
      o.dirs.push_back(v);
    else if (a == "--patterns")
      o.patterns.push_back(v);
    else if (a == "--poll" || a == "--run-gap") {
      const auto d = config::parseDuration(v);
      if (!d || d->count() <= 0) return "bad " + a + " " + v;
      if (a == "--poll")
        o.poll = *d;
      else
        o.run_gap = *d;
    } else
      return "unknown option " + a;
  }
  if (o.dirs.empty()) return "--watch needs a directory";
  return {};
}

}  // namespace

int runWatchCommand(const std::vector<std::string>& args, const std::function<void(const BuildAttempt&)>& record) {
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::fputs(kWatchUsage.data(), stdout);
    return 0;
  }
  WatchOptions o;
  if (const std::string error = parseWatchArgs(args, o); !error.empty()) {
    std::fprintf(stderr, "hale-agent diagnose: %s\n%s", error.c_str(), kWatchUsage.data());
    return 2;
  }
  if (o.patterns.empty()) o.patterns = defaultPatternDirs();
  std::optional<KnowledgeBase> kb;
  try {
    kb = loadKnowledgeBase(o.patterns);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "hale-agent diagnose: %s\n", e.what());
    return 2;
  }
  asio::io_context io;
  std::unique_ptr<platform::DirWatcher> watcher;
  if (o.poll) {
    watcher = platform::makePollingWatcher(io, *o.poll);
  } else {
    auto inotify = platform::makeInotifyWatcher(io);
    if (!inotify) {
      std::fprintf(stderr, "hale-agent diagnose: %s (use --poll)\n", inotify.error().message.c_str());
      return 2;
    }
    watcher = std::move(*inotify);
  }
  for (const auto& dir : o.dirs) {
    if (const auto st = watcher->add(dir); !st) {
      std::fprintf(stderr, "hale-agent diagnose: %s\n", st.error().message.c_str());
      return 2;
    }
  }
  // Like inotifywait's "Watches established.": from here on no completed file is missed.
  std::fprintf(stderr, "hale-agent diagnose: watching %zu director%s\n", o.dirs.size(),
               o.dirs.size() == 1 ? "y" : "ies");
  BuildFileClassifier classifier(*kb, o.run_gap);
  watcher->start([&](const std::string& path) {
    const auto file = classifier.classify(path);
    if (!file) {
      std::fprintf(stderr, "hale-agent diagnose: %s\n", file.error().message.c_str());
      return;
    }
    const std::string line = o.json ? watchedFileToJson(*file) : watchedFileToText(*file);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    if (record) record(attemptFor(*file));
  });
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code&, int) {
    watcher->stop();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace hale::agent::ci
