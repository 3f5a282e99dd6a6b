// hale-agent drill: inject a check's failure and report whether its remedy plan healed it.
#include "agent/cli/cli.h"
#include "agent/core/drill_session.h"
#include "agent/drills/drill.h"
#include "shared/config/config.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include <unistd.h>

namespace hale::agent::cli {
namespace {
constexpr std::string_view kUsage =
    "hale-agent drill CHECK|--all [--config FILE] [--json] [--timeout DUR] [--state DIR]";

int usage(const std::string& message) {
  fmt::print(stderr, "hale-agent: {}\nusage: {}\n", message, kUsage);
  return 2;
}

void printReport(const DrillReport& r) {
  using Verdict = DrillVerdict;
  switch (r.verdict) {
    case Verdict::Healed:
      fmt::print("{}: HEALED by step '{}': detected in {} ms, healed {} ms after the issue opened\n  fault: {}\n",
                 r.check, r.healed_by, r.detect_ms.value_or(0), r.heal_ms.value_or(0), r.fault);
      break;
    case Verdict::NotHealed:
      fmt::print("{}: NOT HEALED: {}\n", r.check, r.reason);
      if (!r.fault.empty()) fmt::print("  fault: {}\n", r.fault);
      if (r.detect_ms) fmt::print("  detected in {} ms (issue {})\n", *r.detect_ms, r.issue_id);
      break;
    case Verdict::NotDrillable:
      fmt::print("{}: {}{}\n", r.check, r.reason.rfind("not drillable", 0) == 0 ? "" : "not drillable: ", r.reason);
      break;
    case Verdict::ConfigError:
      fmt::print(stderr, "{}\n", r.reason);
      break;
  }
}
}  // namespace

int cmdDrill(const std::vector<std::string>& args) {
  std::string config = "/etc/hale/agent.toml";
  std::vector<std::string> names;
  bool all = false, json = false;
  DrillOptions opts;
  opts.quiet_logs = true;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)flag;
      return args[++i];
    };
    if (a == "--all") {
      all = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--config" || a == "-c") {
      auto v = value("--config");
      if (!v) return usage("--config needs a file");
      config = *v;
    } else if (a.rfind("--config=", 0) == 0) {
      config = a.substr(9);
    } else if (a == "--state") {
      auto v = value("--state");
      if (!v) return usage("--state needs a directory");
      opts.state_dir = *v;
    } else if (a == "--timeout") {
      auto v = value("--timeout");
      auto d = v ? config::parseDuration(*v) : std::nullopt;
      if (!d || d->count() <= 0) return usage("--timeout needs a duration such as 30s or 2m");
      opts.timeout = *d;
    } else if (!a.empty() && a[0] == '-') {
      return usage(fmt::format("unknown option '{}'", a));
    } else {
      names.push_back(a);
    }
  }
  if (all == !names.empty() || names.size() > 1) return usage("name one check, or --all");
  if (!json && ::isatty(STDERR_FILENO))
    opts.progress = [](const std::string& line) { fmt::print(stderr, "  {}\n", line); };
  if (all) {
    try {
      names = drillCheckNames(config);
    } catch (const std::exception& e) {
      fmt::print(stderr, "{}\n", e.what());
      return 2;
    }
  }
  std::vector<DrillReport> reports;
  for (const auto& name : names) {
    reports.push_back(runDrill(config, name, opts));
    if (!json) printReport(reports.back());
  }
  if (!all) {
    if (json) fmt::print("{}\n", toJson(reports.front()).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return drillExitCode(reports.front().verdict);
  }
  // The self-test: every drillable check must heal; the others are listed, not failed.
  int healed = 0, not_healed = 0, not_drillable = 0, errors = 0;
  for (const auto& r : reports) {
    healed += r.verdict == DrillVerdict::Healed;
    not_healed += r.verdict == DrillVerdict::NotHealed;
    not_drillable += r.verdict == DrillVerdict::NotDrillable;
    errors += r.verdict == DrillVerdict::ConfigError;
  }
  if (json) {
    nlohmann::json out{{"healed", healed},
                       {"not_healed", not_healed},
                       {"not_drillable", not_drillable},
                       {"errors", errors},
                       {"drills", nlohmann::json::array()}};
    for (const auto& r : reports) out["drills"].push_back(toJson(r));
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("\n{} checks: {} healed, {} not healed, {} not drillable{}\n", reports.size(), healed, not_healed,
               not_drillable, errors ? fmt::format(", {} invalid", errors) : "");
  }
  if (errors) return 2;
  return not_healed ? 1 : 0;
}

}  // namespace hale::agent::cli
