// Fuzz target: telemetry from the network, through verification and ingest
// into a real (in-memory) store, as the aggregator handles it.
#include "aggregator/ingest/ingestor.h"
#include "aggregator/storage/store.h"
#include "shared/util/log.h"
#include "shared/wire/topics.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (hale::log::configure(hale::log::Level::Error, hale::log::Format::Text), true);
  (void)quiet;
  static asio::io_context io;
  static hale::aggregator::storage::Store store(":memory:");
  static hale::aggregator::ingest::Ingestor ingestor(io, store, {std::chrono::milliseconds(1), 64});
  // The first byte picks a topic so the region/node agreement checks are exercised too.
  const std::string payload = size ? std::string(reinterpret_cast<const char*>(data) + 1, size - 1) : std::string();
  static const std::string topics[] = {hale::wire::telemetryTopic("eu", "n1"), hale::wire::telemetryTopic("r", "n"),
                                       hale::wire::statusTopic("eu", "n1"), "hale/v1/eu/n1/other"};
  ingestor.onMessage(topics[size ? data[0] % 4 : 0], payload);
  ingestor.flush();
  return 0;
}
