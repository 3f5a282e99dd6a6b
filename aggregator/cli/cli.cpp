#include "aggregator/cli/cli.h"

#include "aggregator/core/aggregator.h"
#include "aggregator/core/aggregator_config.h"
#include "aggregator/failover/failover_config.h"
#include "aggregator/storage/sql/connection.h"
#include "shared/app/mqtt_settings.h"
#include "shared/util/log.h"
#include "shared/util/manpage.h"

#include <fmt/format.h>

#include <functional>

namespace hale::aggregator::cli {
namespace {
constexpr const char* kDefaultConfig = "/etc/hale/aggregator.toml";

struct Command {
  std::string_view name;
  std::string_view summary;
  std::string_view usage;
  std::function<int(const std::vector<std::string>&)> run;
};

std::string configArg(const std::vector<std::string>& args, bool positional_ok) {
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) return args[i].substr(9);
  }
  if (positional_ok)
    for (const auto& a : args)
      if (!a.empty() && a[0] != '-') return a;
  return kDefaultConfig;
}

int cmdRun(const std::vector<std::string>& args) {
  const std::string config = configArg(args, false);
  try {
    Aggregator aggregator(loadAggregatorConfig(config));
    return aggregator.run();
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitConfig;
  } catch (const storage::StorageError& e) {
    if (e.kind() != storage::StorageError::Kind::Damaged) throw;
    fmt::print(stderr, "{}", damagedDatabaseMessage(e.location(), e.what(), config));
    log::error("aggregator", "database damaged; not starting", {{"database", e.location()}, {"error", e.what()}});
    return kExitDamaged;
  } catch (const std::exception& e) {
    log::error("aggregator", "cannot start", {{"error", e.what()}});
    return kExitFailure;
  }
}

int cmdCheckConfig(const std::vector<std::string>& args) {
  const std::string path = configArg(args, true);
  try {
    const auto cfg = loadAggregatorConfig(path);
    fmt::print("{}: valid (http {}:{}, database {})\n", path, cfg.http_address, cfg.http_port, cfg.database);
    return kExitOk;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitConfig;
  }
}

int cmdHelpConfig(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "man") {
    fmt::print("{}", manPage());
    return kExitOk;
  }
  fmt::print("[aggregator]\n{}\n[http]\n{}\n[mqtt]\n{}\n[commands]\n{}\n[log]\n{}",
             config::describeFields(aggregatorFields()), config::describeFields(httpFields()),
             config::describeFields(app::mqttFields()), config::describeFields(commandFields()),
             config::describeFields(app::logFields()));
  fmt::print("[webhooks]\n{}\n[[notify]] (one per target)\n{}", config::describeFields(webhooks::webhookFields()),
             config::describeFields(notify::notifyFields()));
  fmt::print("[[region]] (failover; one per region)\n{}", config::describeFields(failover::regionFields()));
  return kExitOk;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run", "ingest telemetry and serve the API", "hale-aggregator run [--config FILE]", cmdRun},
      {"check-config", "validate a configuration file: exit 0 valid, 2 invalid", "hale-aggregator check-config FILE",
       cmdCheckConfig},
      {"keygen", "make a command signing key pair in DIR", "hale-aggregator keygen DIR", cmdKeygen},
      {"command", "sign a command and publish it to a region or node",
       "hale-aggregator command [--config FILE] --region R [--node N] [--ttl DUR] ACTION [ARGS]", cmdCommand},
      {"backup", "copy the database while the aggregator runs (SQLite online backup, integrity-checked)",
       "hale-aggregator backup [--config FILE] BACKUP.db", cmdBackup},
      {"restore", "replace the database with a backup (aggregator stopped; a damaged one is moved aside)",
       "hale-aggregator restore [--config FILE] BACKUP.db", cmdRestore},
      {"help", "describe the configuration keys, or print this manual page as roff", "hale-aggregator help config|man",
       cmdHelpConfig},
  };
  return list;
}

void printOverview() {
  fmt::print(
      "hale-aggregator {} - fleet telemetry, health and API for Hale agents\n\n"
      "usage: hale-aggregator COMMAND [OPTIONS]\n\ncommands:\n",
      HALE_VERSION);
  for (const auto& c : commands()) fmt::print("  {:<13} {}\n", c.name, c.summary);
  fmt::print(
      "\noptions: --help (any command), --version\ndefault configuration: {}\n"
      "exit codes: 0 ok, 1 runtime failure, 2 invalid configuration, 3 damaged database, 64 usage\n",
      kDefaultConfig);
}
}  // namespace

std::string manPage() {
  man::Page page{"hale-aggregator", "fleet telemetry, health and API for Hale agents", "COMMAND [OPTIONS]", {}};
  page.sections.push_back(
      {"DESCRIPTION",
       {"hale-aggregator subscribes to the telemetry of hale-agent(1) nodes over MQTT v5 with mutual TLS, verifies and "
        "stores every message exactly once in SQLite, scores the health of every node, component, region and the "
        "fleet, and serves a JSON API, a live dashboard and Prometheus metrics. It acts on agents only through "
        "commands signed with ECDSA P-256.",
        "Every command takes --help; `hale-aggregator help config` lists every configuration key."},
       {}});
  man::Section cmds{"COMMANDS", {}, {}};
  for (const auto& c : commands())
    cmds.entries.push_back({std::string(c.name), std::string(c.usage), std::string(c.summary)});
  page.sections.push_back(std::move(cmds));
  page.sections.push_back({"OPTIONS",
                           {},
                           {{"--help, -h", "", "usage of the program or of one command"},
                            {"--version", "", "print the version"},
                            {"--config FILE", "", fmt::format("the configuration (default {})", kDefaultConfig)}}});
  page.sections.push_back(
      {"EXIT STATUS",
       {"0 ok, 1 runtime failure, 2 invalid configuration, 3 damaged database (restore a backup), 64 bad command "
        "line."},
       {}});
  page.sections.push_back(
      {"FILES",
       {},
       {{kDefaultConfig, "", "the configuration"}, {"/var/lib/hale/aggregator.db", "", "the database (SQLite, WAL)"}}});
  page.sections.push_back({"SEE ALSO", {"hale-agent(1); README.md and docs/aggregator.md in the source."}, {}});
  return man::render(page);
}

int main(const std::vector<std::string>& args) {
  if (args.empty()) {
    printOverview();
    return kExitUsage;
  }
  if (args[0] == "--version" || args[0] == "version") {
    fmt::print("hale-aggregator {}\n", HALE_VERSION);
    return kExitOk;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    printOverview();
    return kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& c : commands()) {
    if (c.name != args[0]) continue;
    for (const auto& a : rest)
      if (a == "--help" || a == "-h") {
        fmt::print("usage: {}\n\n{}\n", c.usage, c.summary);
        return kExitOk;
      }
    return c.run(rest);
  }
  fmt::print(stderr, "hale-aggregator: unknown command '{}'\nusage: hale-aggregator COMMAND (see --help)\n", args[0]);
  return kExitUsage;
}

}  // namespace hale::aggregator::cli
