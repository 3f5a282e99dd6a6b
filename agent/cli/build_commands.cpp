// `hale-agent diagnose`, `exec` and `patterns`: the CI-runner side of Hale.
// exec records every attempt in the agent's state and queues it as BuildEvent
// telemetry, which the running agent sends with the rest of its outbox.
#include "agent/checks/file_baseline.h"
#include "agent/ci/build_policy.h"
#include "agent/ci/build_watch.h"
#include "agent/ci/diagnose_command.h"
#include "agent/ci/exec_command.h"
#include "agent/ci/knowledge_base.h"
#include "agent/ci/model_trainer.h"
#include "agent/cli/cli.h"
#include "agent/core/agent_config.h"
#include "agent/state/state_store.h"
#include "shared/util/clock.h"
#include "shared/util/text.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

namespace hale::agent::cli {
namespace {

// Installed packages keep patterns in /etc/hale/patterns; a binary run from a
// source build falls back to the tree it was built from.
void preferPatternsFromSource() {
  if (std::getenv("HALE_PATTERNS_DIR") || std::filesystem::exists("/etc/hale/patterns")) return;
#ifdef HALE_SOURCE_PATTERNS
  if (std::filesystem::exists(HALE_SOURCE_PATTERNS)) ::setenv("HALE_PATTERNS_DIR", HALE_SOURCE_PATTERNS, 0);
#endif
}

class BuildRecorder final : public ci::BuildObserver {
 public:
  BuildRecorder(const AgentConfig& cfg) : cfg_(cfg), store_(cfg.state_dir, cfg.outbox_max_messages) { newBuild(); }

  /// Watch mode: every file is a build of its own.
  void newBuild() { build_id_ = store_.increment("build_id"); }
  state::StateStore& store() { return store_; }

  void onAttempt(const ci::BuildAttempt& a) override {
    const wire::BuildRecord r = ci::toBuildRecord(a, build_id_, unixMillisNow());
    try {
      store_.recordBuild(r);
      store_.outboxAppend([&](uint64_t seq) {
        return wire::buildBuildEvent({cfg_.node, cfg_.region, seq, r.at_ms}, r);
      });
    } catch (const std::exception& e) {
      // Recording must never fail the CI step itself.
      fmt::print(stderr, "hale-agent exec: cannot record attempt: {}\n", e.what());
    }
  }

 private:
  const AgentConfig& cfg_;
  state::StateStore store_;
  uint64_t build_id_ = 0;
};

// --config FILE (before `--`) is ours; everything else belongs to the subcommand.
struct Recording {
  std::unique_ptr<AgentConfig> cfg;  // the recorder refers to it: must not move
  std::unique_ptr<BuildRecorder> recorder;
  std::vector<std::string> rest;
};

Recording openRecording(const std::vector<std::string>& args, std::string_view command) {
  Recording r;
  std::string config_path = "/etc/hale/agent.toml";
  bool explicit_config = false;
  bool after_dashes = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (!after_dashes && args[i] == "--") after_dashes = true;
    if (!after_dashes && (args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
      config_path = args[++i];
      explicit_config = true;
      continue;
    }
    r.rest.push_back(args[i]);
  }
  if (explicit_config || std::filesystem::exists(config_path)) {
    try {
      r.cfg = std::make_unique<AgentConfig>(loadAgentConfig(config_path));
      r.recorder = std::make_unique<BuildRecorder>(*r.cfg);
    } catch (const std::exception& e) {
      // The CI step still runs; only its record is lost, and the user is told why.
      fmt::print(stderr, "hale-agent {}: not recording: {}\n", command, e.what());
      r.recorder.reset();
    }
  }
  return r;
}

}  // namespace

int cmdDiagnose(const std::vector<std::string>& args) {
  preferPatternsFromSource();
  if (std::find(args.begin(), args.end(), "--watch") == args.end()) return ci::runDiagnoseCommand(args);
  Recording r = openRecording(args, "diagnose");
  BuildRecorder* recorder = r.recorder.get();
  return ci::runWatchCommand(r.rest, [recorder](const ci::BuildAttempt& a) {
    if (!recorder) return;
    recorder->newBuild();
    recorder->onAttempt(a);
  });
}

int cmdExec(const std::vector<std::string>& args) {
  preferPatternsFromSource();
  Recording r = openRecording(args, "exec");
  std::unique_ptr<ci::LimiterBudget> budget;
  const auto resolve = [&](ci::ExecOptions& o) -> std::string {
    if (!r.recorder)
      return fmt::format("policy {} needs a readable agent configuration (--config FILE)", o.policy_name);
    const auto it = r.cfg->build_policies.find(o.policy_name);
    if (it == r.cfg->build_policies.end())
      return fmt::format("no [[build_policy]] named '{}' in {}", o.policy_name, r.cfg->file);
    budget = std::make_unique<ci::LimiterBudget>(r.recorder->store().db(), RealClock::instance(), it->second);
    ci::applyPolicy(it->second, budget.get(), o);
    return {};
  };
  return ci::runExecCommand(r.rest, r.recorder.get(), resolve);
}

int cmdPatterns(const std::vector<std::string>& args) {
  preferPatternsFromSource();
  if (!args.empty() && args[0] == "train") return ci::runTrainCommand({args.begin() + 1, args.end()});
  std::vector<std::string> dirs;
  std::string export_to, import_from, into;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--export" && i + 1 < args.size())
      export_to = args[++i];
    else if (args[i] == "--import" && i + 1 < args.size())
      import_from = args[++i];
    else if (args[i] == "--into" && i + 1 < args.size())
      into = args[++i];
    else
      dirs.push_back(args[i]);
  }
  try {
    if (!import_from.empty()) {
      if (into.empty()) {
        fmt::print(stderr, "hale-agent: --import needs --into FILE (your local knowledge base)\n");
        return kExitUsage;
      }
      ci::importKnowledgeBaseFile(import_from, into);
      fmt::print("imported {} into {}\n", import_from, into);
      return kExitOk;
    }
    if (dirs.empty()) dirs = ci::defaultPatternDirs();
    const auto kb = ci::loadKnowledgeBase(dirs);
    if (!export_to.empty()) {
      ci::exportKnowledgeBaseFile(kb, export_to);
      fmt::print("exported {} entries to {}\n", kb.entries().size(), export_to);
      return kExitOk;
    }
    for (const auto& e : kb.entries())
      for (const auto& p : e.patterns) fmt::print("{}\n", p);
    return kExitOk;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitCrit;
  }
}

int cmdBaseline(const std::vector<std::string>& args) {
  constexpr const char* kUsage =
      "usage: hale-agent baseline PATH [--out FILE] [--state-dir DIR | --config FILE] [--max-copy BYTES] "
      "[--no-copy]\n";
  std::string path, out, state_dir, config_file;
  uint64_t max_copy = 1024 * 1024;
  bool copy = true;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--out" && i + 1 < args.size())
      out = args[++i];
    else if (args[i] == "--state-dir" && i + 1 < args.size())
      state_dir = args[++i];
    else if (args[i] == "--config" && i + 1 < args.size())
      config_file = args[++i];
    else if (args[i] == "--no-copy")
      copy = false;
    else if (args[i] == "--max-copy" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), max_copy);
      if (ec != std::errc() || end != v.data() + v.size()) {
        fmt::print(stderr, "{}", kUsage);
        return kExitUsage;
      }
    } else if (path.empty() && !args[i].empty() && args[i][0] != '-')
      path = args[i];
    else {
      fmt::print(stderr, "{}", kUsage);
      return kExitUsage;
    }
  }
  if (path.empty()) {
    fmt::print(stderr, "{}", kUsage);
    return kExitUsage;
  }
  auto entries = checks::baseline::scan(path, 1'000'000);
  if (!entries) {
    fmt::print(stderr, "hale-agent baseline: {}\n", entries.error().message);
    return kExitCrit;
  }
  if (copy) {
    // Only [agent] state_dir is read: the config's own file check may name the
    // baseline this very command is about to write.
    if (state_dir.empty()) {
      if (config_file.empty() && std::filesystem::exists("/etc/hale/agent.toml")) config_file = "/etc/hale/agent.toml";
      state_dir = "/var/lib/hale";
      if (!config_file.empty()) {
        try {
          const auto root = config::parseFile(config_file);
          if (auto dir = root["agent"]["state_dir"].value<std::string>()) state_dir = *dir;
        } catch (const std::exception& e) {
          fmt::print(stderr, "hale-agent baseline: {}\n", e.what());
          return kExitCrit;
        }
      }
    }
    auto stored = checks::baseline::storeObjects(path, *entries, checks::baseline::objectsDir(state_dir), max_copy);
    if (!stored) {
      fmt::print(stderr, "hale-agent baseline: cannot keep content copies: {} (--no-copy: hashes only)\n",
                 stored.error().message);
      return kExitCrit;
    }
    fmt::print(stderr, "kept {} content copies in {} ({} larger than {} bytes or not regular files: no copy)\n",
               stored->stored, checks::baseline::objectsDir(state_dir), stored->skipped, max_copy);
  }
  const std::string text = checks::baseline::format(*entries);
  if (out.empty()) {
    fmt::print("{}", text);
    return kExitOk;
  }
  std::ofstream file(out, std::ios::trunc);
  file << text;
  if (!file) {
    fmt::print(stderr, "hale-agent baseline: cannot write '{}'\n", out);
    return kExitCrit;
  }
  fmt::print(stderr, "recorded {} files of {} in {}\n", entries->size(), path, out);
  return kExitOk;
}

}  // namespace hale::agent::cli
