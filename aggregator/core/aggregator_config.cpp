#include "aggregator/core/aggregator_config.h"

#include "aggregator/failover/failover_config.h"
#include "shared/app/mqtt_settings.h"
#include "shared/crypto/crypto.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hale::aggregator {
namespace {
constexpr config::FieldSpec kAggregatorFields[] = {
    {"database", config::FieldType::String, "/var/lib/hale/aggregator.db", "SQLite database file"},
    {"client_id", config::FieldType::String, "hale-aggregator", "MQTT client id (unique per aggregator)"},
    {"session_expiry", config::FieldType::Duration, "1h", "how long the broker queues messages while we are away"},
    {"batch_interval", config::FieldType::Duration, "50ms", "longest a message waits before its transaction"},
    {"batch_max", config::FieldType::Integer, "500", "messages per transaction at most"},
    {"snapshot_interval", config::FieldType::Duration, "1m", "how often health is scored and stored for trends"},
    {"retention_raw", config::FieldType::Duration, "7d", "raw check results older than this are deleted"},
    {"retention_snapshots", config::FieldType::Duration, "90d",
     "health snapshots (trends) older than this are deleted"},
    {"result_stale_after", config::FieldType::Duration, "10m",
     "a check's latest result older than this lowers the node's score"},
};
constexpr config::FieldSpec kHttpFields[] = {
    {"listen", config::FieldType::String, "127.0.0.1:8080", "address:port of the API, dashboard and /metrics"},
    {"read_token_file", config::FieldType::String, "",
     "file holding a bearer token that reads (API, /metrics) must present; never inline"},
    {"read_token_env", config::FieldType::String, "", "environment variable holding that token instead"},
    {"write_token_file", config::FieldType::String, "",
     "file holding the bearer token that writes (POST: approve, remediate, auto-remediation) need; unset: writes are "
     "off"},
    {"write_token_env", config::FieldType::String, "", "environment variable holding the write token instead"},
};
constexpr config::FieldSpec kCommandFields[] = {
    {"signing_key_file", config::FieldType::String, "", "PEM private key that signs commands (hale-aggregator keygen)"},
    {"epoch", config::FieldType::Integer, "1", "command epoch; raise it to invalidate every older command"},
};
constexpr std::string_view kTopLevel[] = {"aggregator", "http",     "mqtt",   "log",
                                          "commands",   "webhooks", "notify", "region"};

// Surrounding whitespace (a trailing newline from `echo > file`) is not part of a token.
std::string trimToken(std::string t) {
  const auto first = t.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return t.substr(first, t.find_last_not_of(" \t\r\n") - first + 1);
}

// A token from <kind>_token_file or <kind>_token_env (never inline in the config).
std::optional<std::string> readToken(const config::Fields& h, const std::string& kind) {
  const std::string file_key = kind + "_token_file", env_key = kind + "_token_env";
  const auto file = h.optStr(file_key);
  const auto env = h.optStr(env_key);
  if (file && !file->empty() && env && !env->empty())
    h.fail(env_key, fmt::format("set {} or {}, not both", file_key, env_key));
  if (file && !file->empty()) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) h.fail(file_key, fmt::format("cannot read '{}'", *file));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token = trimToken(ss.str());
    if (token.size() < 16) h.fail(file_key, fmt::format("'{}' must hold a token of 16 characters or more", *file));
    return token;
  }
  if (env && !env->empty()) {
    const char* value = std::getenv(env->c_str());
    std::string token = trimToken(value ? value : "");
    if (token.size() < 16)
      h.fail(env_key, fmt::format("environment variable '{}' must hold a token of 16 characters or more", *env));
    return token;
  }
  return std::nullopt;
}

std::chrono::milliseconds positive(const config::Fields& f, std::string_view key) {
  const auto d = f.duration(key);
  if (d.count() <= 0) f.fail(key, "expected a duration above zero");
  return d;
}
}  // namespace

std::span<const config::FieldSpec> aggregatorFields() { return kAggregatorFields; }
std::span<const config::FieldSpec> httpFields() { return kHttpFields; }
std::span<const config::FieldSpec> commandFields() { return kCommandFields; }

namespace {
// [aggregator]: storage, ingest batching, snapshots and retention.
config::Fields readAggregatorSection(const toml::table& root, const std::string& path, AggregatorConfig& cfg) {
  auto a = config::readFields(app::sectionOf(root, "aggregator", path), kAggregatorFields, path, "[aggregator]");
  cfg.database = a.str("database");
  cfg.ingest.batch_interval = a.duration("batch_interval");
  const auto batch_max = a.integer("batch_max");
  if (batch_max < 1 || batch_max > 100'000) a.fail("batch_max", "expected 1..100000");
  cfg.ingest.batch_max = static_cast<size_t>(batch_max);
  cfg.snapshots.interval = positive(a, "snapshot_interval");
  cfg.snapshots.retention_raw = positive(a, "retention_raw");
  cfg.snapshots.retention_snapshots = positive(a, "retention_snapshots");
  if (cfg.snapshots.retention_snapshots < cfg.snapshots.retention_raw)
    a.fail("retention_snapshots", "expected at least retention_raw: trends outlive raw results");
  cfg.health.result_stale_after_ms = positive(a, "result_stale_after").count();
  return a;
}

// [http]: where to listen and the API tokens.
void readHttpSection(const toml::table& root, const std::string& path, AggregatorConfig& cfg) {
  const auto h = config::readFields(app::sectionOf(root, "http", path), kHttpFields, path, "[http]");
  const std::string listen = h.str("listen");
  const size_t colon = listen.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos ||
      std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port).ec != std::errc() || port > 65535)
    h.fail("listen", "expected address:port, e.g. 127.0.0.1:8080");
  cfg.http_address = listen.substr(0, colon);
  cfg.http_port = static_cast<uint16_t>(port);
  cfg.read_token = readToken(h, "read");
  cfg.write_token = readToken(h, "write");
}

// [commands]: the signing key and the epoch of signed commands.
void readCommandsSection(const toml::table& root, const std::string& path, AggregatorConfig& cfg) {
  const auto c = config::readFields(app::sectionOf(root, "commands", path), kCommandFields, path, "[commands]");
  if (c.has("signing_key_file")) {
    config::requireReadableFile(c, "signing_key_file");
    cfg.signing_key_file = c.str("signing_key_file");
    if (auto key = crypto::Key::fromFile(cfg.signing_key_file, true); !key)
      c.fail("signing_key_file", key.error().message);
  }
  if (c.integer("epoch") < 1) c.fail("epoch", "must be at least 1");
  cfg.epoch = static_cast<uint64_t>(c.integer("epoch"));
}

// [mqtt], with the client id and session from [aggregator].
void readMqttSection(const toml::table& root, const std::string& path, const config::Fields& a, AggregatorConfig& cfg) {
  if (!root.get("mqtt")) return;
  cfg.mqtt = app::readMqttOptions(app::sectionOf(root, "mqtt", path), path);
  cfg.mqtt.client_id = a.str("client_id");
  // A persistent session: the broker keeps our QoS 1 messages while we restart.
  cfg.mqtt.clean_start = false;
  cfg.mqtt.session_expiry_s =
      static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(a.duration("session_expiry")).count());
  cfg.mqtt.subscriptions = {{"hale/v1/+/+/telemetry", 1}, {"hale/v1/+/+/status", 1}};
  cfg.mqtt.log_component = "mqtt";
  cfg.mqtt_enabled = true;
}
}  // namespace

AggregatorConfig loadAggregatorConfig(const std::string& path) {
  const toml::table root = config::parseFile(path);
  config::rejectUnknownKeys(root, kTopLevel, path, "the top level");
  AggregatorConfig cfg;
  cfg.file = path;
  const auto a = readAggregatorSection(root, path, cfg);
  readHttpSection(root, path, cfg);
  readCommandsSection(root, path, cfg);
  cfg.webhooks = webhooks::readSecrets(root, path);
  cfg.notify = notify::readTargets(root, path);
  app::applyLogSettings(config::readFields(app::sectionOf(root, "log", path), app::logFields(), path, "[log]"));
  readMqttSection(root, path, a, cfg);
  cfg.regions = failover::readRegions(root, path);
  if (!cfg.regions.empty() && (cfg.signing_key_file.empty() || !cfg.mqtt_enabled))
    throw config::ConfigError(config::positionOf(*root.get("region"), path),
                              "[[region]] failover needs [commands] signing_key_file and [mqtt]");
  return cfg;
}

}  // namespace hale::aggregator
