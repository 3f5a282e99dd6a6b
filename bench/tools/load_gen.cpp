// Load generator for the ingest benchmark: N simulated agents, each with its
// own client certificate (the broker's ACL confines a node to its own topics),
// publish M CheckBatch envelopes each as fast as QoS 1 allows, then report
// the publish rate. It builds envelopes with the same code as hale-agent.
// With RATE, each simulated agent publishes RATE messages/s instead (for
// latency below saturation).
//   hale-load-gen URL PKI_DIR REGION NODE_PREFIX N M [RATE]
#include "shared/util/clock.h"
#include "shared/wire/envelope.h"
#include "shared/wire/topics.h"

#include <mqtt/async_client.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr, "usage: hale-load-gen URL PKI_DIR REGION NODE_PREFIX N M [RATE]\n");
    return 64;
  }
  const std::string url = argv[1], pki = argv[2], region = argv[3], prefix = argv[4];
  const int nodes = std::atoi(argv[5]), per_node = std::atoi(argv[6]);
  const double rate = argc == 8 ? std::atof(argv[7]) : 0.0;
  std::atomic<long> acked{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int n = 0; n < nodes; ++n) {
    threads.emplace_back([&, n] {
      const std::string node = prefix + std::to_string(n);
      mqtt::async_client client(url, node, mqtt::create_options(MQTTVERSION_5));
      mqtt::ssl_options ssl;
      ssl.set_trust_store(pki + "/ca.crt");
      ssl.set_key_store(pki + "/node-" + node + ".crt");
      ssl.set_private_key(pki + "/node-" + node + ".key");
      client.connect(mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).ssl(ssl).clean_start(true).finalize())
          ->wait();
      const std::string topic = hale::wire::telemetryTopic(region, node);
      hale::wire::ResultRecord r;
      r.check = "disk";
      r.kind = "disk";
      r.status = hale::wire::CheckStatus::Ok;
      r.component = hale::wire::Component::Storage;
      r.message = "/: 42% used";
      r.metrics = {{"used_percent", 42.0}};
      std::vector<mqtt::delivery_token_ptr> window;
      const auto paced_from = std::chrono::steady_clock::now();
      for (int i = 1; i <= per_node; ++i) {
        if (rate > 0)
          std::this_thread::sleep_until(paced_from + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                         std::chrono::duration<double>((i - 1) / rate)));
        r.observed_at_ms = hale::unixMillisNow();
        const auto bytes =
            hale::wire::buildCheckBatch({node, region, static_cast<uint64_t>(i), r.observed_at_ms}, std::span(&r, 1));
        window.push_back(client.publish(topic, bytes.data(), bytes.size(), 1, false));
        if (window.size() >= 64) {  // Paho buffers at most 100 unacknowledged messages per client
          for (auto& t : window) t->wait();
          acked += static_cast<long>(window.size());
          window.clear();
        }
      }
      for (auto& t : window) t->wait();
      acked += static_cast<long>(window.size());
      client.disconnect()->wait();
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("published %ld messages from %d clients in %.2f s: %.0f msg/s\n", acked.load(), nodes, secs,
              static_cast<double>(acked.load()) / secs);
  return 0;
}
