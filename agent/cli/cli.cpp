#include "agent/cli/cli.h"
#include "agent/cli/remedy_cli.h"

#include "agent/checks/check.h"
#include "agent/core/agent.h"
#include "agent/core/agent_config.h"
#include "agent/core/scheduler.h"
#include "agent/drills/drill.h"
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "shared/app/mqtt_settings.h"
#include "shared/util/log.h"
#include "shared/util/manpage.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>

namespace hale::agent::cli {
namespace {

constexpr const char* kDefaultConfig = "/etc/hale/agent.toml";

struct Command {
  std::string_view name;
  std::string_view summary;
  std::string_view usage;
  std::function<int(const std::vector<std::string>&)> run;
};

bool wantsHelp(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

/// Finds `--config FILE` (or `--config=FILE`), else a lone positional argument, else the default.
std::optional<std::string> configArg(const std::vector<std::string>& args, bool positional_ok) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" || args[i] == "-c")
      return i + 1 < args.size() ? std::optional(args[i + 1]) : std::nullopt;
    if (args[i].rfind("--config=", 0) == 0) return args[i].substr(9);
  }
  if (positional_ok)
    for (const auto& a : args)
      if (!a.empty() && a[0] != '-') return a;
  return std::string(kDefaultConfig);
}

int usageError(const std::string& message, std::string_view usage) {
  fmt::print(stderr, "hale-agent: {}\nusage: {}\n", message, usage);
  return kExitUsage;
}

int cmdCheckConfig(const std::vector<std::string>& args) {
  const auto path = configArg(args, true);
  if (!path) return usageError("--config needs a file", "hale-agent check-config FILE");
  try {
    const auto cfg = loadAgentConfig(*path);
    fmt::print("{}: valid ({} checks, node {}, region {})\n", *path, cfg.checks.size(), cfg.node, cfg.region);
    return kExitOk;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitCrit;
  }
}

int cmdOnce(const std::vector<std::string>& args) {
  const auto path = configArg(args, false);
  if (!path) return usageError("--config needs a file", "hale-agent once --config FILE [--json]");
  bool json = false;
  for (const auto& a : args) json = json || a == "--json";
  AgentConfig cfg;
  try {
    cfg = loadAgentConfig(*path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitUnknown;
  }
  wire::CheckStatus worst = wire::CheckStatus::Ok;
  nlohmann::json out = nlohmann::json::array();
  std::vector<wire::ResultRecord> records;
  for (auto& check : cfg.checks) {
    records.push_back(runWithDeadline(check));
    worst = std::max(worst, records.back().status);
  }
  if (json) {
    for (const auto& r : records) {
      nlohmann::json metrics = nlohmann::json::object();
      for (const auto& m : r.metrics) metrics[m.name] = m.value;
      out.push_back({{"check", r.check},
                     {"kind", r.kind},
                     {"status", wire::statusName(r.status)},
                     {"message", r.message},
                     {"duration_us", r.duration_us},
                     {"metrics", metrics}});
    }
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    size_t name_w = 5, kind_w = 4;
    for (const auto& r : records) name_w = std::max(name_w, r.check.size()), kind_w = std::max(kind_w, r.kind.size());
    fmt::print("{:<{}}  {:<{}}  {:<7}  {:>8}  {}\n", "CHECK", name_w, "KIND", kind_w, "STATUS", "TIME", "MESSAGE");
    for (const auto& r : records)
      fmt::print("{:<{}}  {:<{}}  {:<7}  {:>6.1f}ms  {}\n", r.check, name_w, r.kind, kind_w, wire::statusName(r.status),
                 r.duration_us / 1000.0, r.message);
  }
  switch (worst) {
    case wire::CheckStatus::Ok:
      return kExitOk;
    case wire::CheckStatus::Warn:
      return kExitWarn;
    case wire::CheckStatus::Crit:
      return kExitCrit;
    default:
      return kExitUnknown;
  }
}

int cmdRun(const std::vector<std::string>& args) {
  const auto path = configArg(args, false);
  if (!path) return usageError("--config needs a file", "hale-agent run --config FILE");
  try {
    Agent agent(loadAgentConfig(*path));
    return agent.run();
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitCrit;
  } catch (const std::exception& e) {
    log::error("agent", "cannot start", {{"error", e.what()}});
    return kExitUnknown;
  }
}

int cmdAudit(const std::vector<std::string>& args) {
  constexpr std::string_view kUsage = "hale-agent audit verify|tail [--config FILE] [-n N] [--json]";
  if (args.empty() || (args[0] != "verify" && args[0] != "tail"))
    return usageError("audit needs verify or tail", kUsage);
  const auto path = configArg({args.begin() + 1, args.end()}, false);
  if (!path) return usageError("--config needs a file", kUsage);
  bool json = false;
  size_t n = 20;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--json") json = true;
    if (args[i] == "-n" && i + 1 < args.size()) n = static_cast<size_t>(std::max(1, std::atoi(args[i + 1].c_str())));
  }
  try {
    const auto cfg = loadAgentConfig(*path);
    state::StateStore store(cfg.state_dir);
    state::AuditLog audit(store.db());
    if (args[0] == "verify") {
      const auto verdict = audit.verify();
      if (json) {
        fmt::print("{}\n",
                   nlohmann::json{{"ok", verdict.ok}, {"rows", verdict.rows}, {"problem", verdict.problem}}.dump());
      } else if (verdict.ok) {
        fmt::print("audit log intact: {} rows, hash chain and head verified\n", verdict.rows);
      } else {
        fmt::print("audit log TAMPERED: {}\n", verdict.problem);
      }
      return verdict.ok ? kExitOk : kExitCrit;
    }
    const auto rows = audit.tail(n);
    if (json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : rows)
        out.push_back({{"seq", e.seq},
                       {"at_ms", e.at_ms},
                       {"actor", e.actor},
                       {"action", e.action},
                       {"subject", e.subject},
                       {"outcome", e.outcome},
                       {"detail", e.detail},
                       {"hash", e.hash}});
      fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      for (const auto& e : rows)
        fmt::print("{:>6}  {}  {:<10} {:<16} {:<9} {}  {}\n", e.seq, e.at_ms, e.actor, e.action, e.outcome,
                   e.subject.substr(0, 16), e.detail);
    }
    return kExitOk;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitUnknown;
  }
}

int cmdHelp(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run", "run the agent: checks, telemetry, status", "hale-agent run [--config FILE]", cmdRun},
      {"once", "run every check once, print a table, exit 0 ok / 1 warn / 2 crit / 3 unknown",
       "hale-agent once [--config FILE] [--json]", cmdOnce},
      {"check-config", "validate a configuration file: exit 0 valid, 2 invalid", "hale-agent check-config FILE",
       cmdCheckConfig},
      {"exec", "run a CI step; on failure diagnose it and retry, clear caches or rerun failed tests within limits",
       "hale-agent exec [--config FILE] [--policy auto|dry-run|off|NAME] [--timeout DUR] [--max-attempts N] "
       "[--patterns DIR]... [--junit REPORT]... -- CMD ARGS...",
       cmdExec},
      {"diagnose",
       "classify a finished CI log (or watch directories for logs and JUnit reports): category, evidence, remedy",
       "hale-agent diagnose [--json] [--failed] [--patterns DIR|FILE]... [--junit XML]... FILE...|-  |  --learn "
       "CATEGORY [--confirm "
       "--local FILE] FILE  |  "
       "--watch DIR... [--json] [--poll DUR] [--config FILE]",
       cmdDiagnose},
      {"baseline", "record hashes, modes and owners of a file or tree (and content copies for `restore`)",
       "hale-agent baseline PATH [--out FILE] [--state-dir DIR | --config FILE] [--max-copy BYTES] [--no-copy]",
       cmdBaseline},
      {"patterns", "list the failure patterns, export/import a knowledge base, or train the learned model",
       "hale-agent patterns [DIR...] | --export FILE [DIR...] | --import FILE --into LOCAL.toml | train --labels "
       "TSV... "
       "--out FILE [--folds K]",
       cmdPatterns},
      {"audit", "verify the hash-chained audit log (exit 2 if tampered) or show its tail",
       "hale-agent audit verify|tail [--config FILE] [-n N] [--json]", cmdAudit},
      {"remediation", "switch auto-remediation on or off, for the agent or one check",
       "hale-agent remediation on|off [CHECK] [--config FILE]", cmdRemediation},
      {"pending", "list remediation steps awaiting approval", "hale-agent pending [--config FILE] [--json]",
       cmdPending},
      {"approve", "approve a pending remediation step", "hale-agent approve ID [--config FILE]", cmdApprove},
      {"stats", "learned success rates behind the order of alternative steps",
       "hale-agent stats [--config FILE] [--json]", cmdStats},
      {"drill",
       "inject a check's failure, let its remedy plan heal it: exit 0 healed, 1 not, 2 invalid, 3 not drillable",
       "hale-agent drill CHECK|--all [--config FILE] [--json] [--timeout DUR] [--state DIR]", cmdDrill},
      {"help", "describe the check kinds and their keys, or print this manual page as roff",
       "hale-agent help [KIND|config|man]", cmdHelp},
  };
  return list;
}

void printOverview() {
  fmt::print(
      "hale-agent {} - watches this node, repairs it within limits, reports to the aggregator\n\n"
      "usage: hale-agent COMMAND [OPTIONS]\n\ncommands:\n",
      HALE_VERSION);
  for (const auto& c : commands()) fmt::print("  {:<13} {}\n", c.name, c.summary);
  fmt::print(
      "\noptions: --help (any command), --version\n"
      "default configuration: {}\n"
      "exit codes: 0 ok, 1 warn, 2 crit or invalid configuration, 3 unknown or cannot start, 64 usage\n",
      kDefaultConfig);
}

int cmdHelp(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "man") {
    fmt::print("{}", manPage());
    return kExitOk;
  }
  if (args.empty()) {
    printOverview();
    fmt::print("\ncheck kinds (hale-agent help KIND for keys):\n");
    for (const auto& k : checks::allKinds()) fmt::print("  {:<13} {}\n", k.name, k.summary);
    return kExitOk;
  }
  if (args[0] == "config") {
    fmt::print(
        "[agent]\n{}\n[mqtt]\n{}\n[log]\n{}\n[commands]\n{}\n[remediation]\n{}\n[[check]] (every kind)\n{}"
        "\n[[check.remedy]] (every action; see docs/remediation.md)\n{}\n[check.drill] (hale-agent drill)\n{}"
        "\n[[build_policy]] (hale-agent exec --policy NAME; see docs/builds.md)\n{}\n[builds]\n{}"
        "\n[failover] (hooks; see docs/aggregator.md)\n{}",
        config::describeFields(agentFields()), config::describeFields(app::mqttFields()),
        config::describeFields(app::logFields()), config::describeFields(commandFields()),
        config::describeFields(limits::remediationFields()), config::describeFields(checks::commonFields()),
        config::describeFields(remedies::stepFields()), config::describeFields(drills::drillFields()),
        config::describeFields(ci::buildPolicyFields()), config::describeFields(ci::buildsFields()),
        config::describeFields(failoverFields()));
    return kExitOk;
  }
  const auto* kind = checks::findKind(args[0]);
  if (!kind)
    return usageError(fmt::format("no check kind '{}' (try `hale-agent help`)", args[0]),
                      "hale-agent help [KIND|config]");
  fmt::print("{}: {}\ndefault component: {}\n\nkeys of this kind:\n{}\nkeys of every check:\n{}", kind->name,
             kind->summary, wire::componentName(kind->default_component), config::describeFields(kind->fields),
             config::describeFields(checks::commonFields()));
  return kExitOk;
}

}  // namespace

std::string manPage() {
  man::Page page{
      "hale-agent", "watches this node, repairs it within limits, reports to the aggregator", "COMMAND [OPTIONS]", {}};
  page.sections.push_back(
      {"DESCRIPTION",
       {"hale-agent runs checks on a node or CI runner (disks, processes, certificates, system load, probes, "
        "configuration drift), keeps their history and open issues in SQLite, repairs what it may through per-check "
        "remedy plans within limits and an audited policy, wraps CI steps to diagnose and retry their failures, and "
        "streams everything as FlatBuffers over MQTT v5 with mutual TLS to hale-aggregator(1).",
        "Every command takes --help. The configuration is TOML; `hale-agent help config` lists every key and "
        "`hale-agent help KIND` the keys of one check kind."},
       {}});
  man::Section cmds{"COMMANDS", {}, {}};
  for (const auto& c : commands())
    cmds.entries.push_back({std::string(c.name), std::string(c.usage), std::string(c.summary)});
  page.sections.push_back(std::move(cmds));
  man::Section kinds{"CHECK KINDS", {"Selected with kind = \"NAME\" in a [[check]] table."}, {}};
  for (const auto& k : checks::allKinds()) kinds.entries.push_back({std::string(k.name), "", std::string(k.summary)});
  page.sections.push_back(std::move(kinds));
  man::Section actions{"REMEDY ACTIONS", {"Steps of a check's plan, [[check.remedy]] tables, tried in order."}, {}};
  for (const auto& a : remedies::allActions())
    actions.entries.push_back({std::string(a.name), "", std::string(a.summary)});
  page.sections.push_back(std::move(actions));
  man::Section drill{
      "DRILLS",
      {"hale-agent drill CHECK injects, safely, the failure the check watches for, lets the check's "
       "remedy plan (the same engine, limits, dry-run and audit log as the daemon) heal it, and reports "
       "whether it healed, which step did, the time to detect and the time to heal. drill --all is the "
       "self-test of a node's configuration. Exit status: 0 healed, 1 not healed, 2 invalid "
       "configuration or usage, 3 not drillable. A check's [check.drill] table says what a drill may do:"},
      {}};
  for (const auto& f : drills::drillFields())
    drill.entries.push_back({std::string(f.key), "", std::string(f.description)});
  for (const auto& d : drills::allDrills())
    drill.entries.push_back({"kind " + std::string(d.check_kind), "", std::string(d.summary)});
  page.sections.push_back(std::move(drill));
  page.sections.push_back(
      {"OPTIONS",
       {},
       {{"--help, -h", "", "usage of the program or of one command"},
        {"--version", "", "print the version"},
        {"--config FILE, -c FILE", "", fmt::format("the configuration (default {})", kDefaultConfig)}}});
  page.sections.push_back({"EXIT STATUS",
                           {"0 ok, 1 warn, 2 crit or invalid configuration, 3 unknown or cannot start, 64 bad command "
                            "line. audit verify exits 2 when the log was tampered with; drill as above."},
                           {}});
  page.sections.push_back(
      {"FILES",
       {},
       {{kDefaultConfig, "", "the configuration"},
        {"/var/lib/hale/agent", "", "state: agent.db (SQLite: history, issues, outbox, limits, audit)"},
        {"/etc/hale/patterns", "", "the CI failure knowledge base"}}});
  page.sections.push_back({"SEE ALSO",
                           {"hale-aggregator(1), man(7); README.md, docs/checks.md and "
                            "docs/remediation.md in the source."},
                           {}});
  return man::render(page);
}

int main(const std::vector<std::string>& args) {
  if (args.empty()) {
    printOverview();
    return kExitUsage;
  }
  const std::string& first = args[0];
  if (first == "--version" || first == "version") {
    fmt::print("hale-agent {}\n", HALE_VERSION);
    return kExitOk;
  }
  if (first == "--help" || first == "-h") {
    printOverview();
    return kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& c : commands()) {
    if (c.name != first) continue;
    const bool own_help = c.name == "help" || c.name == "diagnose" || c.name == "exec" ||
                          (c.name == "patterns" && !rest.empty() && rest[0] == "train");
    if (wantsHelp(rest) && !own_help) {
      fmt::print("usage: {}\n\n{}\n", c.usage, c.summary);
      return kExitOk;
    }
    return c.run(rest);
  }
  return usageError(fmt::format("unknown command '{}'", first), "hale-agent COMMAND (see hale-agent --help)");
}

}  // namespace hale::agent::cli
