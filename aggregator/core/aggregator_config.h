#pragma once
#include "aggregator/failover/controller.h"
#include "aggregator/health/health.h"
#include "aggregator/health/snapshots.h"
#include "aggregator/ingest/ingestor.h"
#include "aggregator/notify/notify_config.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "shared/config/config.h"
#include "shared/mqtt/client.h"

#include <optional>
#include <string>

namespace hale::aggregator {

struct AggregatorConfig {
  std::string file;
  std::string database;
  std::string http_address = "127.0.0.1";
  uint16_t http_port = 8080;
  bool mqtt_enabled = false;
  mqtt::Options mqtt;
  ingest::Settings ingest;
  std::string signing_key_file;  ///< private key that signs commands; empty: commands cannot be sent
  uint64_t epoch = 1;            ///< carried by every command; agents refuse older ones
  health::Params health;
  health::SnapshotSettings snapshots;
  std::optional<std::string> read_token;        ///< from [http] read_token_file or read_token_env
  std::optional<std::string> write_token;       ///< from [http] write_token_file or write_token_env
  std::vector<failover::RegionPolicy> regions;  ///< [[region]]; empty: failover is off
  webhooks::Secrets webhooks;                   ///< [webhooks]: incoming CI webhooks
  std::vector<notify::Target> notify;           ///< [[notify]]: outgoing notifications
};

/// Loads and validates; throws config::ConfigError with file:line:col.
AggregatorConfig loadAggregatorConfig(const std::string& path);

std::span<const config::FieldSpec> aggregatorFields();
std::span<const config::FieldSpec> httpFields();
std::span<const config::FieldSpec> commandFields();

}  // namespace hale::aggregator
