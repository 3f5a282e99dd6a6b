#pragma once
// [[notify]] targets of the aggregator config: where notifications go, which
// events each target wants, and how deliveries are retried.
#include "shared/config/config.h"
#include "shared/net/http_client.h"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hale::aggregator::notify {

enum class Event { UnfixedCritical, RemediationFailed, BreakerOpen, RegionFailover };
std::string_view eventName(Event e);
std::optional<Event> eventFromName(std::string_view name);

struct Target {
  std::string kind;  ///< "slack" or "webhook"
  std::string url_text;
  net::Url url;
  std::optional<std::string> secret;  ///< HMAC key; unset: unsigned
  std::vector<Event> events;          ///< the events sent to this target
  std::chrono::milliseconds unfixed_after{std::chrono::minutes(10)};
  int max_attempts = 8;
  std::chrono::milliseconds retry_initial{std::chrono::seconds(2)};
  std::chrono::milliseconds retry_cap{std::chrono::minutes(5)};
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::string ca_file = net::TlsTrust::kSystemBundle;  ///< trust for https:// URLs

  std::string key() const { return kind + " " + url_text; }
  bool wants(Event e) const;
};

struct Settings {
  std::vector<Target> targets;
  std::string link_base;  ///< e.g. "http://127.0.0.1:8080": links point at the API below it
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
};

/// A secret from `file_key` (a file) or `env_key` (an environment variable),
/// never inline; surrounding whitespace trimmed; at least 16 characters.
std::optional<std::string> readSecret(const config::Fields& f, const std::string& file_key, const std::string& env_key);

/// [[notify]] tables; throws config::ConfigError with file:line:col.
std::vector<Target> readTargets(const toml::table& root, const std::string& path);
std::span<const config::FieldSpec> notifyFields();

}  // namespace hale::aggregator::notify
