// `hale-aggregator keygen` and `hale-aggregator command`: make a command
// signing key, and sign and publish one command to agents.
#include "aggregator/cli/cli.h"
#include "aggregator/core/aggregator_config.h"
#include "shared/crypto/crypto.h"
#include "shared/mqtt/client.h"
#include "shared/util/clock.h"
#include "shared/wire/command.h"
#include "shared/wire/topics.h"

#include <asio/steady_timer.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace hale::aggregator::cli {
namespace {

constexpr std::string_view kCommandUsage =
    "hale-aggregator command [--config FILE] --region R [--node N] [--ttl DURATION] ACTION [ARGS]\n"
    "  actions: auto-remediation on|off [CHECK] | approve ATTEMPT_ID | trigger CHECK |\n"
    "           region-role REGION active|standby | drill [CHECK]";

int usage(const std::string& message, std::string_view text) {
  fmt::print(stderr, "hale-aggregator: {}\nusage: {}\n", message, text);
  return kExitUsage;
}

std::optional<wire::CommandAction> parseAction(const std::vector<std::string>& words, std::string& error) {
  if (words.empty()) return (error = "no action given", std::nullopt);
  const std::string& verb = words[0];
  auto arg = [&](size_t i) { return i < words.size() ? words[i] : std::string(); };
  if (verb == "auto-remediation" && (arg(1) == "on" || arg(1) == "off"))
    return wire::AutoRemediationAction{arg(1) == "on", arg(2)};
  if (verb == "approve" && !arg(1).empty()) {
    try {
      return wire::ApproveAction{std::stoull(arg(1))};
    } catch (const std::exception&) {}
  }
  if (verb == "trigger" && wire::isValidId(arg(1))) return wire::TriggerAction{arg(1)};
  if (verb == "region-role" && wire::isValidId(arg(1)) && (arg(2) == "active" || arg(2) == "standby"))
    return wire::RegionRoleAction{arg(1), arg(2) == "active" ? wire::RegionRole::Active : wire::RegionRole::Standby};
  if (verb == "drill" && (arg(1).empty() || wire::isValidId(arg(1)))) return wire::DrillAction{arg(1)};
  error = fmt::format("cannot parse action '{}'", verb);
  return std::nullopt;
}

}  // namespace

int cmdKeygen(const std::vector<std::string>& args) {
  if (args.empty()) return usage("keygen needs an output directory", "hale-aggregator keygen DIR");
  const std::filesystem::path dir(args[0]);
  std::filesystem::create_directories(dir);
  const auto priv = dir / "command-signing.key";
  const auto pub = dir / "command-signing.pub";
  if (std::filesystem::exists(priv)) {
    fmt::print(stderr, "{} exists; refusing to overwrite a signing key (move it away to rotate)\n", priv.string());
    return kExitFailure;
  }
  const auto key = crypto::Key::generate();
  {
    const mode_t old = ::umask(077);  // the private key is readable by its owner only
    std::ofstream(priv) << key.privatePem();
    ::umask(old);
  }
  std::ofstream(pub) << key.publicPem();
  fmt::print(
      "key id {}\nprivate: {}  (aggregator: [commands] signing_key_file)\npublic:  {}  (agents: [commands] "
      "public_key_files)\n",
      key.id(), priv.string(), pub.string());
  return kExitOk;
}

namespace {
struct CommandArgs {
  std::string config_path = "/etc/hale/aggregator.toml";
  wire::CommandSpec spec;
  std::chrono::milliseconds ttl = std::chrono::minutes(5);
};

// The command line of `command`; nullopt after printing the usage error.
std::optional<CommandArgs> parseCommandArgs(const std::vector<std::string>& args) {
  CommandArgs out;
  std::vector<std::string> words;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (a == "--config" || a == "-c") {
      out.config_path = value();
    } else if (a == "--region") {
      out.spec.target_region = value();
    } else if (a == "--node") {
      out.spec.target_node = value();
    } else if (a == "--ttl") {
      auto d = config::parseDuration(value());
      if (!d || d->count() <= 0) return (usage("--ttl needs a duration such as 5m", kCommandUsage), std::nullopt);
      out.ttl = *d;
    } else {
      words.push_back(a);
    }
  }
  if (!wire::isValidId(out.spec.target_region)) return (usage("--region is required", kCommandUsage), std::nullopt);
  if (!out.spec.target_node.empty() && !wire::isValidId(out.spec.target_node))
    return (usage("bad --node", kCommandUsage), std::nullopt);
  std::string error;
  auto action = parseAction(words, error);
  if (!action) return (usage(error, kCommandUsage), std::nullopt);
  out.spec.action = *action;
  return out;
}

// The configuration and signing key `command` needs; nullopt after printing why not.
std::optional<std::pair<AggregatorConfig, crypto::Key>> loadSigning(const std::string& config_path) {
  AggregatorConfig cfg;
  try {
    cfg = loadAggregatorConfig(config_path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return std::nullopt;
  }
  if (cfg.signing_key_file.empty() || !cfg.mqtt_enabled) {
    fmt::print(stderr, "{}: [commands] signing_key_file and [mqtt] are needed to send commands\n", config_path);
    return std::nullopt;
  }
  auto key = crypto::Key::fromFile(cfg.signing_key_file, true);
  if (!key) {
    fmt::print(stderr, "{}\n", key.error().message);
    return std::nullopt;
  }
  return std::make_pair(std::move(cfg), std::move(*key));
}

// Connects with a throwaway session, publishes once (QoS 1) and waits for the broker's answer.
int publishOnce(const AggregatorConfig& cfg, const std::string& topic, const std::vector<uint8_t>& bytes,
                const std::string& done) {
  asio::io_context io;
  mqtt::Options opts = cfg.mqtt;
  opts.client_id = fmt::format("{}-cli-{}", cfg.mqtt.client_id, ::getpid());
  opts.clean_start = true;
  opts.session_expiry_s = 0;
  opts.subscriptions.clear();
  mqtt::Client client(io, opts);
  int rc = kExitFailure;
  asio::steady_timer deadline(io, std::chrono::seconds(15));
  deadline.async_wait([&](std::error_code ec) {
    if (!ec) {
      fmt::print(stderr, "hale-aggregator: could not deliver the command to the broker within 15s\n");
      io.stop();
    }
  });
  client.onConnected([&] {
    client.publish(topic, std::string(bytes.begin(), bytes.end()), 1, false, [&](const Status& result) {
      if (result.ok()) {
        fmt::print("{}\n", done);
        rc = kExitOk;
      } else {
        fmt::print(stderr, "broker refused the command: {}\n", result.error().message);
      }
      client.stop();
      io.stop();
    });
  });
  client.start();
  io.run();
  return rc;
}
}  // namespace

int cmdCommand(const std::vector<std::string>& args) {
  auto parsed = parseCommandArgs(args);
  if (!parsed) return kExitUsage;
  auto signing = loadSigning(parsed->config_path);
  if (!signing) return kExitConfig;
  const auto& [cfg, key] = *signing;
  wire::CommandSpec& spec = parsed->spec;
  spec.epoch = cfg.epoch;
  spec.issued_at_ms = unixMillisNow();
  spec.expires_at_ms = spec.issued_at_ms + parsed->ttl.count();
  const auto bytes = wire::buildSignedCommand(spec, key);
  const std::string topic = spec.target_node.empty() ? wire::regionCommandTopic(spec.target_region)
                                                     : wire::nodeCommandTopic(spec.target_region, spec.target_node);
  return publishOnce(cfg, topic, bytes,
                     fmt::format("sent {} to {} (epoch {}, expires in {})", wire::actionName(spec.action), topic,
                                 spec.epoch, config::formatDuration(parsed->ttl)));
}

}  // namespace hale::aggregator::cli
