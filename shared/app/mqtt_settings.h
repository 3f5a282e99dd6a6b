#pragma once
// The [mqtt] section both binaries share: where the broker is and which
// certificate we present. Files are checked at load time so a missing key file
// is reported with its path and config line, not as a TLS error minutes later.
#include "shared/config/config.h"
#include "shared/mqtt/client.h"

#include <span>

namespace hale::app {

std::span<const config::FieldSpec> mqttFields();

/// Reads [mqtt] into client options (client id, will and subscriptions are the caller's).
mqtt::Options readMqttOptions(const toml::table& section, const std::string& file);

/// Reads [log] level/format and applies them.
std::span<const config::FieldSpec> logFields();
void applyLogSettings(const config::Fields& fields);

/// The table under `key`, or an empty one; a non-table value is a ConfigError.
const toml::table& sectionOf(const toml::table& root, std::string_view key, const std::string& file);

}  // namespace hale::app
