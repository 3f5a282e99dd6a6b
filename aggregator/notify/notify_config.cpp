#include "aggregator/notify/notify_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hale::aggregator::notify {
namespace {
constexpr config::FieldSpec kNotifyFields[] = {
    {"kind", config::FieldType::String, "", "slack ({\"text\": ...}) or webhook (generic JSON)", true},
    {"url", config::FieldType::String, "", "http:// or https:// URL to POST to", true},
    {"secret_file", config::FieldType::String, "", "file holding the HMAC-SHA256 key of X-Hale-Signature-256"},
    {"secret_env", config::FieldType::String, "", "environment variable holding that key instead"},
    {"events", config::FieldType::StringArray, "",
     "unfixed_critical, remediation_failed, breaker_open, region_failover; unset: all"},
    {"unfixed_after", config::FieldType::Duration, "10m", "a critical issue open this long is reported"},
    {"max_attempts", config::FieldType::Integer, "8", "deliveries tried before giving up"},
    {"retry_initial", config::FieldType::Duration, "2s", "first retry delay; doubles up to retry_cap, with jitter"},
    {"retry_cap", config::FieldType::Duration, "5m", "longest retry delay"},
    {"timeout", config::FieldType::Duration, "5s", "one delivery attempt gives up after this"},
    {"ca_file", config::FieldType::String, "/etc/ssl/certs/ca-certificates.crt", "trust anchors for https:// URLs"},
};

constexpr std::string_view kEventNames[] = {"unfixed_critical", "remediation_failed", "breaker_open",
                                            "region_failover"};
constexpr Event kAllEvents[] = {Event::UnfixedCritical, Event::RemediationFailed, Event::BreakerOpen,
                                Event::RegionFailover};

std::string trimmed(std::string t) {
  const auto first = t.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return t.substr(first, t.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

std::string_view eventName(Event e) { return kEventNames[static_cast<size_t>(e)]; }

std::optional<Event> eventFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kEventNames); ++i)
    if (kEventNames[i] == name) return kAllEvents[i];
  return std::nullopt;
}

bool Target::wants(Event e) const { return std::find(events.begin(), events.end(), e) != events.end(); }

std::span<const config::FieldSpec> notifyFields() { return kNotifyFields; }

std::optional<std::string> readSecret(const config::Fields& f, const std::string& file_key,
                                      const std::string& env_key) {
  const auto file = f.optStr(file_key);
  const auto env = f.optStr(env_key);
  if (file && !file->empty() && env && !env->empty())
    f.fail(env_key, fmt::format("set {} or {}, not both", file_key, env_key));
  std::string secret;
  if (file && !file->empty()) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) f.fail(file_key, fmt::format("cannot read '{}'", *file));
    std::stringstream ss;
    ss << in.rdbuf();
    secret = trimmed(ss.str());
    if (secret.size() < 16) f.fail(file_key, fmt::format("'{}' must hold a secret of 16 characters or more", *file));
    return secret;
  }
  if (env && !env->empty()) {
    const char* value = std::getenv(env->c_str());
    secret = trimmed(value ? value : "");
    if (secret.size() < 16)
      f.fail(env_key, fmt::format("environment variable '{}' must hold a secret of 16 characters or more", *env));
    return secret;
  }
  return std::nullopt;
}

namespace {
std::vector<Event> readEvents(const config::Fields& f) {
  if (!f.has("events")) return {std::begin(kAllEvents), std::end(kAllEvents)};
  std::vector<Event> events;
  for (const auto& name : f.strings("events")) {
    auto e = eventFromName(name);
    if (!e) f.fail("events", fmt::format("unknown event '{}'; expected one of {}", name, fmt::join(kEventNames, ", ")));
    if (std::find(events.begin(), events.end(), *e) == events.end()) events.push_back(*e);
  }
  if (events.empty()) f.fail("events", "list at least one event, or leave events out for all");
  return events;
}

Target readTarget(const config::Fields& f) {
  Target t;
  t.kind = f.str("kind");
  if (t.kind != "slack" && t.kind != "webhook") f.fail("kind", "expected slack or webhook");
  t.url_text = f.str("url");
  auto url = net::parseUrl(t.url_text);
  if (!url) f.fail("url", url.error().message);
  t.url = *url;
  t.secret = readSecret(f, "secret_file", "secret_env");
  t.events = readEvents(f);
  t.unfixed_after = f.duration("unfixed_after");
  const auto attempts = f.integer("max_attempts");
  if (attempts < 1 || attempts > 100) f.fail("max_attempts", "expected 1..100");
  t.max_attempts = static_cast<int>(attempts);
  t.retry_initial = f.duration("retry_initial");
  t.retry_cap = f.duration("retry_cap");
  t.timeout = f.duration("timeout");
  if (t.retry_initial.count() <= 0 || t.retry_cap < t.retry_initial)
    f.fail("retry_cap", "expected 0 < retry_initial <= retry_cap");
  if (t.timeout.count() <= 0) f.fail("timeout", "expected a duration above zero");
  t.ca_file = f.str("ca_file");
  return t;
}
}  // namespace

std::vector<Target> readTargets(const toml::table& root, const std::string& path) {
  std::vector<Target> out;
  const toml::node* list = root.get("notify");
  if (!list) return out;
  const toml::array* arr = list->as_array();
  if (!arr || !arr->is_array_of_tables())
    throw config::ConfigError(config::positionOf(*list, path), "'notify' must be an array of tables ([[notify]])");
  for (const auto& item : *arr) {
    const auto f = config::readFields(*item.as_table(), kNotifyFields, path, "[[notify]]");
    Target t = readTarget(f);
    for (const auto& other : out)
      if (other.key() == t.key()) f.fail("url", "the same kind and url is configured twice");
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace hale::aggregator::notify
