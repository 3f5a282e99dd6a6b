#include "shared/app/mqtt_settings.h"

#include "shared/util/log.h"

#include <fmt/format.h>

namespace hale::app {
namespace {
constexpr config::FieldSpec kMqttFields[] = {
    {"url", config::FieldType::String, "", "broker address: mqtts://host:port (TLS) or mqtt://host:port"},
    {"urls", config::FieldType::StringArray, "",
     "several brokers instead of url: an agent tries them in order and moves to the next when its broker is gone"},
    {"ca_file", config::FieldType::String, "", "CA certificate that signed the broker's certificate (PEM)"},
    {"cert_file", config::FieldType::String, "", "this client's certificate (PEM)"},
    {"key_file", config::FieldType::String, "", "this client's private key (PEM)"},
    {"keepalive", config::FieldType::Duration, "30s", "MQTT keepalive; the broker declares us gone after 1.5x"},
    {"reconnect_min", config::FieldType::Duration, "500ms", "first reconnect delay (then doubled, jittered)"},
    {"reconnect_max", config::FieldType::Duration, "30s", "longest reconnect delay"},
};
constexpr config::FieldSpec kLogFields[] = {
    {"level", config::FieldType::String, "info", "debug, info, warn or error"},
    {"format", config::FieldType::String, "text", "text for people, json for log collectors"},
};
}  // namespace

std::span<const config::FieldSpec> mqttFields() { return kMqttFields; }
std::span<const config::FieldSpec> logFields() { return kLogFields; }

const toml::table& sectionOf(const toml::table& root, std::string_view key, const std::string& file) {
  static const toml::table kEmpty;
  const toml::node* node = root.get(key);
  if (!node) return kEmpty;
  if (!node->is_table())
    throw config::ConfigError(config::positionOf(*node, file), fmt::format("'{}' must be a table ([{}])", key, key));
  return *node->as_table();
}

mqtt::Options readMqttOptions(const toml::table& section, const std::string& file) {
  const auto f = config::readFields(section, kMqttFields, file, "[mqtt]");
  mqtt::Options o;
  if (f.has("url") == f.has("urls")) f.fail(f.has("url") ? "urls" : "url", "give exactly one of url, urls");
  o.urls = f.has("urls") ? f.strings("urls") : std::vector<std::string>{f.str("url")};
  if (o.urls.empty()) f.fail("urls", "expected at least one broker");
  o.url = o.urls.front();
  const auto isTls = [](const std::string& u) { return u.rfind("mqtts://", 0) == 0 || u.rfind("ssl://", 0) == 0; };
  const bool tls = isTls(o.url);
  for (const auto& u : o.urls) {
    const char* key = f.has("urls") ? "urls" : "url";
    if (!isTls(u) && u.rfind("mqtt://", 0) != 0 && u.rfind("tcp://", 0) != 0)
      f.fail(key, "expected mqtts://host:port or mqtt://host:port, got '" + u.substr(0, 100) + "'");
    if (isTls(u) != tls) f.fail(key, "mix of mqtts:// and mqtt:// brokers");
  }
  if (tls) {
    for (auto key : {"ca_file", "cert_file", "key_file"})
      if (!f.has(key)) f.fail(key, "required with an mqtts:// url (mutual TLS)");
  }
  for (auto key : {"ca_file", "cert_file", "key_file"}) config::requireReadableFile(f, key);
  o.tls = {f.optStr("ca_file").value_or(""), f.optStr("cert_file").value_or(""), f.optStr("key_file").value_or("")};
  o.keepalive = std::chrono::duration_cast<std::chrono::seconds>(f.duration("keepalive"));
  if (o.keepalive.count() < 1) f.fail("keepalive", "must be at least 1s");
  o.backoff_initial = f.duration("reconnect_min");
  o.backoff_max = f.duration("reconnect_max");
  if (o.backoff_initial.count() < 10 || o.backoff_max < o.backoff_initial)
    f.fail("reconnect_max", "need 10ms <= reconnect_min <= reconnect_max");
  return o;
}

void applyLogSettings(const config::Fields& fields) {
  try {
    const auto level = log::parseLevel(fields.str("level"));
    try {
      log::configure(level, log::parseFormat(fields.str("format")));
    } catch (const std::invalid_argument& e) {
      fields.fail("format", e.what());
    }
  } catch (const std::invalid_argument& e) {
    fields.fail("level", e.what());
  }
}

}  // namespace hale::app
