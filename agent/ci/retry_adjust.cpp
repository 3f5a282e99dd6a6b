// Retry adjustments: hang detection, raised time limits, lower parallelism.
#include "agent/ci/retry_adjust.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

namespace hale::agent::ci {
namespace {

std::string baseName(const std::string& word) { return std::filesystem::path(word).filename().string(); }

bool hasWord(const std::vector<std::string>& words, std::initializer_list<std::string_view> names) {
  return std::any_of(words.begin(), words.end(),
                     [&](const std::string& w) { return std::find(names.begin(), names.end(), w) != names.end(); });
}

// "8", "auto"/"logical" (one per CPU), "2C" (per CPU, Maven), "50%" (jest).
std::optional<unsigned> jobCount(std::string_view text, unsigned cpus) {
  if (text == "auto" || text == "logical") return cpus;
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc()) return std::nullopt;
  const std::string_view unit = text.substr(static_cast<size_t>(end - text.data()));
  if (unit.empty()) return n;
  if (unit == "C" || unit == "c") return n * cpus;
  if (unit == "%") return std::max(1u, cpus * n / 100);
  return std::nullopt;
}

unsigned half(unsigned n) { return std::max(1u, n / 2); }

// The parallelism flags of the tools the command uses.
struct Flag {
  std::string_view name;  // "-j", "--jobs"
  bool joined;            // value may be glued on ("-j8", "-T4"); "--x=N" always works
};
std::vector<Flag> flagsFor(const std::vector<std::string>& words) {
  if (hasWord(words, {"make", "gmake", "ninja", "cargo", "scons"})) return {{"-j", true}, {"--jobs", false}};
  if (hasWord(words, {"cmake"})) return {{"-j", true}, {"--parallel", false}};
  if (hasWord(words, {"bazel", "bazelisk"})) return {{"--jobs", false}, {"-j", true}};
  if (hasWord(words, {"go"})) return {{"-p", false}};
  if (hasWord(words, {"gradle", "gradlew"})) return {{"--max-workers", false}};
  if (hasWord(words, {"mvn", "mvnw"})) return {{"-T", true}, {"--threads", false}};
  if (hasWord(words, {"pytest", "py.test"})) return {{"-n", true}, {"--numprocesses", false}};
  if (hasWord(words, {"jest"})) return {{"--maxWorkers", false}, {"-w", true}};
  return {};
}

// Halves the first parallelism flag found in argv; false when there is none
// (or it is already 1).
bool halveFlag(std::vector<std::string>& argv, const std::vector<Flag>& flags, unsigned cpus, std::string& what) {
  for (size_t i = 0; i < argv.size(); ++i) {
    for (const Flag& f : flags) {
      const std::string& a = argv[i];
      std::string value;
      size_t value_at = i;
      std::string prefix;
      if (a == f.name && i + 1 < argv.size()) {
        value = argv[i + 1], value_at = i + 1;
      } else if (a.starts_with(std::string(f.name) + "=")) {
        value = a.substr(f.name.size() + 1), prefix = std::string(f.name) + "=";
      } else if (f.joined && a.size() > f.name.size() && a.starts_with(f.name)) {
        value = a.substr(f.name.size()), prefix = std::string(f.name);
      } else {
        continue;
      }
      const auto n = jobCount(value, cpus);
      if (!n || *n <= 1) return false;
      argv[value_at] = prefix + std::to_string(half(*n));
      what = fmt::format("{} {} -> {}", f.name, value, half(*n));
      return true;
    }
  }
  return false;
}

// Tools that run one job per CPU unless told otherwise, and where to say so.
bool capDefault(std::vector<std::string>& argv, const std::vector<std::string>& words, unsigned cpus,
                ParallelismChange& c) {
  if (cpus < 2) return false;
  const std::string n = std::to_string(half(cpus));
  const auto insertAfter = [&](std::string_view word, std::vector<std::string> flags) {
    for (size_t i = 0; i < argv.size(); ++i)
      if (baseName(argv[i]) == word || (i > 0 && argv[i] == word)) {
        argv.insert(argv.begin() + static_cast<long>(i) + 1, flags.begin(), flags.end());
        return true;
      }
    return false;
  };
  if (hasWord(words, {"ninja"}) && insertAfter("ninja", {"-j" + n})) return c.what = "ninja -j" + n, true;
  if (hasWord(words, {"cargo"}))
    return c.env.emplace_back("CARGO_BUILD_JOBS", n), c.what = "CARGO_BUILD_JOBS=" + n, true;
  if (hasWord(words, {"gradle", "gradlew"}))
    return argv.push_back("--max-workers=" + n), c.what = "--max-workers=" + n, true;
  if (words.size() >= 2 && words[0] == "go" && (words[1] == "build" || words[1] == "test" || words[1] == "install"))
    return insertAfter(words[1], {"-p", n}), c.what = "go " + words[1] + " -p " + n, true;
  if (hasWord(words, {"bazel", "bazelisk"}) && words.size() >= 2 && insertAfter(words[1], {"--jobs=" + n}))
    return c.what = "bazel --jobs=" + n, true;
  if (hasWord(words, {"jest"})) return argv.push_back("--maxWorkers=" + n), c.what = "jest --maxWorkers=" + n, true;
  return false;
}

// Knobs in the environment, which reach tools run by scripts too.
bool halveEnvironment(const EnvLookup& env, unsigned cpus, ParallelismChange& c) {
  bool changed = false;
  const auto note = [&](const std::string& name, const std::string& value) {
    c.env.emplace_back(name, value);
    c.what += (c.what.empty() ? "" : ", ") + name + "=" + value;
    changed = true;
  };
  if (const auto flags = env("MAKEFLAGS")) {
    std::string jobs, rewritten = *flags;
    static const RE2 kJobs(R"((-j|--jobs=)\s*(\d+))");
    if (RE2::PartialMatch(*flags, kJobs, nullptr, &jobs) && std::stoul(jobs) > 1) {
      RE2::Replace(&rewritten, kJobs, "\\1" + std::to_string(half(static_cast<unsigned>(std::stoul(jobs)))));
      note("MAKEFLAGS", rewritten);
    }
  }
  for (const char* name : {"CMAKE_BUILD_PARALLEL_LEVEL", "CARGO_BUILD_JOBS"})
    if (const auto v = env(name))
      if (const auto n = jobCount(*v, cpus); n && *n > 1) note(name, std::to_string(half(*n)));
  if (const auto opts = env("GRADLE_OPTS")) {
    std::string workers, rewritten = *opts;
    static const RE2 kWorkers(R"(-Dorg\.gradle\.workers\.max=(\d+))");
    if (RE2::PartialMatch(*opts, kWorkers, &workers) && std::stoul(workers) > 1) {
      RE2::Replace(&rewritten, kWorkers,
                   "-Dorg.gradle.workers.max=" + std::to_string(half(static_cast<unsigned>(std::stoul(workers)))));
      note("GRADLE_OPTS", rewritten);
    }
  }
  return changed;
}

// V8 stops at its own heap limit, whatever the machine has: the knob is the limit.
bool raiseNodeHeap(const EnvLookup& env, unsigned heap_mb, ParallelismChange& c) {
  std::string opts = env("NODE_OPTIONS").value_or("");
  static const RE2 kHeap(R"(--max-old-space-size=(\d+))");
  std::string current;
  const std::string flag = "--max-old-space-size=" + std::to_string(heap_mb);
  if (RE2::PartialMatch(opts, kHeap, &current)) {
    if (std::stoul(current) >= heap_mb) return false;
    RE2::Replace(&opts, kHeap, flag);
  } else {
    opts += (opts.empty() ? "" : " ") + flag;
  }
  c.env.emplace_back("NODE_OPTIONS", opts);
  c.what += (c.what.empty() ? "" : ", ") + ("NODE_OPTIONS=" + opts);
  return true;
}

}  // namespace

std::vector<std::string> toolWords(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  for (const auto& a : argv) {
    if (!a.empty() && a[0] == '-') continue;
    words.push_back(baseName(a));
    if (words.size() == 3) break;
  }
  return words;
}

bool looksHung(Millis run, std::optional<Millis> last_output, Millis min_silence) {
  if (run <= Millis(0)) return false;
  const Millis silent = run - std::min(run, last_output.value_or(Millis(0)));
  return silent >= std::max(min_silence, run / 4);
}

Millis raisedTimeout(Millis old) { return old + std::min(old, kMaxTimeoutRaise); }

std::optional<Millis> parseTimeoutDuration(const std::string& text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || !std::isfinite(value) || value < 0) return std::nullopt;
  const std::string unit(end, text.data() + text.size());
  double seconds = value;
  if (unit == "m")
    seconds *= 60;
  else if (unit == "h")
    seconds *= 3600;
  else if (unit == "d")
    seconds *= 86400;
  else if (!unit.empty() && unit != "s")
    return std::nullopt;
  return Millis(static_cast<int64_t>(seconds * 1000.0));
}

std::optional<std::pair<size_t, Millis>> timeoutArgument(const std::vector<std::string>& argv) {
  if (argv.empty() || baseName(argv[0]) != "timeout") return std::nullopt;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-s" || a == "-k" || a == "--signal" || a == "--kill-after") {
      ++i;  // the option's value
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    if (const auto d = parseTimeoutDuration(a); d && i + 1 < argv.size()) return std::make_pair(i, *d);
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<ParallelismChange> lessParallel(const std::vector<std::string>& argv, const EnvLookup& env, unsigned cpus,
                                              bool js_heap, unsigned heap_mb) {
  ParallelismChange c{argv, {}, {}};
  const auto words = toolWords(argv);
  bool changed = halveFlag(c.argv, flagsFor(words), cpus, c.what);
  const bool env_changed = halveEnvironment(env, cpus, c);
  if (!changed && !env_changed) changed = capDefault(c.argv, words, cpus, c);
  if (js_heap) changed = raiseNodeHeap(env, heap_mb, c) || changed;
  if (!changed && !env_changed) return std::nullopt;
  return c;
}

}  // namespace hale::agent::ci
