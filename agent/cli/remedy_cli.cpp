#include "agent/cli/remedy_cli.h"

#include "agent/cli/cli.h"
#include "agent/core/agent_config.h"
#include "agent/limits/policy.h"
#include "agent/remedies/attempts.h"
#include "agent/remedies/strategy.h"
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>

namespace hale::agent::cli {
namespace {
constexpr const char* kDefaultConfig = "/etc/hale/agent.toml";

struct Parsed {
  std::string config = kDefaultConfig;
  std::vector<std::string> positional;
  bool json = false;
};

Parsed parse(const std::vector<std::string>& args) {
  Parsed p;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
      p.config = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      p.config = args[i].substr(9);
    } else if (args[i] == "--json") {
      p.json = true;
    } else {
      p.positional.push_back(args[i]);
    }
  }
  return p;
}

int usage(const std::string& message, std::string_view usage_line) {
  fmt::print(stderr, "hale-agent: {}\nusage: {}\n", message, usage_line);
  return kExitUsage;
}

/// Opens the state of the configured agent; prints and returns nullopt-like on failure.
template <class Fn>
int withState(const Parsed& p, Fn fn) {
  try {
    const auto cfg = loadAgentConfig(p.config);
    state::StateStore store(cfg.state_dir);
    return fn(cfg, store);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitUnknown;
  }
}
}  // namespace

int cmdRemediation(const std::vector<std::string>& args) {
  constexpr std::string_view kUsage = "hale-agent remediation on|off [CHECK] [--config FILE]";
  const auto p = parse(args);
  if (p.positional.empty() || p.positional.size() > 2 || (p.positional[0] != "on" && p.positional[0] != "off"))
    return usage("remediation needs on or off", kUsage);
  const bool on = p.positional[0] == "on";
  const std::string check = p.positional.size() == 2 ? p.positional[1] : "";
  return withState(p, [&](const AgentConfig&, state::StateStore& store) {
    limits::Policy::setAuto(store, check, on);
    state::AuditLog(store.db())
        .append(unixMillisNow(), "cli", "auto_remediation", check.empty() ? "*" : check, "executed", on ? "on" : "off");
    fmt::print("auto-remediation {} for {}\n", on ? "on" : "off", check.empty() ? "the whole agent" : check);
    return kExitOk;
  });
}

int cmdPending(const std::vector<std::string>& args) {
  const auto p = parse(args);
  return withState(p, [&](const AgentConfig&, state::StateStore& store) {
    remedies::Attempts attempts(store.db());
    const auto now = unixMillisNow();
    const auto rows = attempts.inState("awaiting");
    if (p.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& a : rows)
        out.push_back({{"id", a.id},
                       {"issue_id", a.issue_id},
                       {"check", a.check},
                       {"step", a.step},
                       {"action", a.action},
                       {"created_ms", a.created_ms},
                       {"expires_ms", a.expires_ms}});
      fmt::print("{}\n", out.dump(2));
      return kExitOk;
    }
    if (rows.empty()) fmt::print("no remediation step awaits approval\n");
    for (const auto& a : rows)
      fmt::print("{:>6}  check {:<20} step {} {:<12} issue {}  {}\n", a.id, a.check, a.step, a.action, a.issue_id,
                 a.expires_ms > now ? fmt::format("expires in {}s", (a.expires_ms - now) / 1000) : "expired");
    return kExitOk;
  });
}

int cmdApprove(const std::vector<std::string>& args) {
  constexpr std::string_view kUsage = "hale-agent approve ID [--config FILE]";
  const auto p = parse(args);
  if (p.positional.size() != 1) return usage("approve needs one attempt id", kUsage);
  char* end = nullptr;
  const auto id = std::strtoull(p.positional[0].c_str(), &end, 10);
  if (!end || *end != '\0' || id == 0) return usage("the id must be a positive integer", kUsage);
  return withState(p, [&](const AgentConfig&, state::StateStore& store) {
    remedies::Attempts attempts(store.db());
    const auto now = unixMillisNow();
    state::AuditLog audit(store.db());
    if (auto ok = attempts.approve(id, now); !ok) {
      audit.append(now, "cli", "approve", std::to_string(id), "refused", ok.error().message);
      fmt::print(stderr, "{}\n", ok.error().message);
      return kExitCrit;
    }
    audit.append(now, "cli", "approve", std::to_string(id), "executed", "approved; the agent resumes it");
    fmt::print("attempt {} approved; the running agent resumes it within a second\n", id);
    return kExitOk;
  });
}

int cmdStats(const std::vector<std::string>& args) {
  const auto p = parse(args);
  return withState(p, [&](const AgentConfig&, state::StateStore& store) {
    remedies::Strategy strategy(store.db(), 1);
    const auto rows = strategy.all();
    if (p.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : rows)
        out.push_back({{"check_kind", s.check_kind},
                       {"failure_kind", s.failure_kind},
                       {"action", s.action},
                       {"successes", s.successes},
                       {"failures", s.failures},
                       {"posterior_mean", s.mean()}});
      fmt::print("{}\n", out.dump(2));
      return kExitOk;
    }
    fmt::print("{:<12} {:<8} {:<12} {:>6} {:>6} {:>9}\n", "CHECK KIND", "FAILURE", "ACTION", "HEALED", "FAILED",
               "BETA MEAN");
    for (const auto& s : rows)
      fmt::print("{:<12} {:<8} {:<12} {:>6} {:>6} {:>9.2f}\n", s.check_kind, s.failure_kind, s.action, s.successes,
                 s.failures, s.mean());
    return kExitOk;
  });
}

}  // namespace hale::agent::cli
