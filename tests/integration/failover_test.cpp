// Region failover end to end: two Mosquitto brokers (one per region) bridged
// with TLS, the aggregator on broker A, a real agent per region. A file check
// is the injected fault: deleting its file makes region a's node critical.
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

using namespace hale;
using namespace hale::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {
struct FailoverRig {
  TempDir dir, dir_a, dir_b;  // one directory per broker (config, data, log)
  std::string pki = makePki(dir, {"na", "nb"});
  Broker broker_a{dir_a, pki};
  Broker broker_b{dir_b, pki, 0, broker_a.port()};
  uint16_t http_port = freePort();
  std::optional<Process> aggregator, agent_a, agent_b;

  std::string mqtt(const Broker& broker, const std::string& identity) const {
    return "[mqtt]\nurl = \"" + broker.url() + "\"\nca_file = \"" + pki + "/ca.crt\"\ncert_file = \"" + pki + "/" +
           identity + ".crt\"\nkey_file = \"" + pki + "/" + identity + ".key\"\n";
  }

  std::string agentConfig(const std::string& node, const std::string& region, const Broker& broker) {
    const std::string hook = "echo \"$0 $HALE_REGION $HALE_ROLE $HALE_EPOCH\" >> " + dir.file("hooks.log");
    return "[agent]\nnode = \"" + node + "\"\nregion = \"" + region + "\"\nstate_dir = \"" + dir.file(node) +
           "\"\nheartbeat_interval = \"500ms\"\nbatch_interval = \"20ms\"\nack_timeout = \"1s\"\n" +
           "[commands]\npublic_key_files = [\"" + dir.file("keys/command-signing.pub") + "\"]\n" +
           "[failover]\non_promote = [\"/bin/sh\", \"-c\", " + json(hook).dump() + ", \"promote\"]\n" +
           "on_demote = [\"/bin/sh\", \"-c\", " + json(hook).dump() + ", \"demote\"]\n" + mqtt(broker, "node-" + node) +
           "[[check]]\nname = \"service\"\nkind = \"file\"\npath = \"" + dir.file(region + "-ok") +
           "\"\ninterval = \"100ms\"\nfail_after = 1\npass_after = 1\n";
  }

  void startAggregator() {
    aggregator.emplace(
        std::vector<std::string>{binaryDir() + "/hale-aggregator", "run", "--config", dir.file("aggregator.toml")},
        dir.file("aggregator.log"));
    REQUIRE(waitFor([&] { return httpGet(http_port, "/api/v1/failover").status == 200; }, 10s));
  }

  FailoverRig() {
    REQUIRE(runCommand({binaryDir() + "/hale-aggregator", "keygen", dir.file("keys")}) == 0);
    writeFile(dir.file("a-ok"), "ok\n");
    writeFile(dir.file("b-ok"), "ok\n");
    // Windows of 1 s, 3 bad ones demote, 2 s dwell; failback is manual. One
    // critical issue scores 60: a window is bad when over a quarter of it saw the fault.
    std::string regions;
    for (const auto& [name, prio] : {std::pair{"a", 1}, std::pair{"b", 2}})
      regions += "[[region]]\nname = \"" + std::string(name) + "\"\npriority = " + std::to_string(prio) +
                 "\nthreshold = 90\nwindows = 3\nwindow = \"1s\"\nmin_dwell = \"2s\"\nfailback = \"manual\"\n";
    writeFile(dir.file("aggregator.toml"),
              "[aggregator]\ndatabase = \"" + dir.file("agg.db") +
                  "\"\nbatch_interval = \"20ms\"\n[http]\nlisten = \"127.0.0.1:" + std::to_string(http_port) +
                  "\"\n[commands]\nsigning_key_file = \"" + dir.file("keys/command-signing.key") + "\"\n" +
                  mqtt(broker_a, "aggregator") + regions);
    writeFile(dir.file("na.toml"), agentConfig("na", "a", broker_a));
    writeFile(dir.file("nb.toml"), agentConfig("nb", "b", broker_b));
    startAggregator();
    agent_a.emplace(std::vector<std::string>{binaryDir() + "/hale-agent", "run", "--config", dir.file("na.toml")},
                    dir.file("na.log"));
    agent_b.emplace(std::vector<std::string>{binaryDir() + "/hale-agent", "run", "--config", dir.file("nb.toml")},
                    dir.file("nb.log"));
  }

  json failover() { return json::parse(httpGet(http_port, "/api/v1/failover").body, nullptr, false); }
  std::vector<std::string> hooks() {
    std::vector<std::string> lines;
    std::istringstream in(readFile(dir.file("hooks.log")));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  double regionScore(const std::string& region) {
    const auto r = json::parse(httpGet(http_port, "/api/v1/regions/" + region).body, nullptr, false);
    return r.is_object() && r.contains("score") && r["score"].is_number() ? r["score"].get<double>() : -1;
  }
  /// The region's health goes bad for 1 s every 3.5 s. Scores refresh once a
  /// second, so each fault is seen for 1-2 s: enough for one or two bad windows
  /// (a controller demoting after one would flap), never three in a row.
  void oscillate(const std::string& region, int cycles) {
    for (int i = 0; i < cycles; ++i) {
      std::filesystem::remove(dir.file(region + "-ok"));
      std::this_thread::sleep_for(1000ms);
      writeFile(dir.file(region + "-ok"), "ok\n");
      std::this_thread::sleep_for(2500ms);
    }
  }
};
}  // namespace

TEST_CASE("failover: region a failing moves work to b over bridged brokers with hooks once and no flapping") {
  FailoverRig rig;
  // Both regions report through their own broker; b's node reaches the aggregator over the bridge.
  REQUIRE(waitFor([&] { return rig.regionScore("a") == 100 && rig.regionScore("b") == 100; }, 10s));
  auto state = rig.failover();
  CHECK(state["active"] == "a");
  CHECK(state["epoch"] == 1);
  // The retained decision reached a's agent: region a became active (its promote hook, epoch 1).
  REQUIRE(waitFor([&] { return rig.hooks().size() == 1; }, 5s));
  CHECK(rig.hooks()[0] == "promote a active 1");

  rig.oscillate("a", 2);
  CHECK(rig.failover()["epoch"] == 1);

  std::filesystem::remove(rig.dir.file("a-ok"));
  const auto failed_at = std::chrono::steady_clock::now();
  REQUIRE(waitFor([&] { return rig.failover()["active"] == "b"; }, 10s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - failed_at);
  MESSAGE("region b promoted " << took.count() << " ms after region a's fault (3 windows of 1 s)");
  CHECK(took < 6s);  // 3 windows + up to one partial window + scoring lag (1 s)
  state = rig.failover();
  CHECK(state["epoch"] == 2);
  CHECK(state["history"][0]["from"] == "a");
  CHECK(state["history"][0]["reason"].get<std::string>().find("demoted") == 0);

  REQUIRE(waitFor([&] { return rig.hooks().size() == 3; }, 5s));
  auto hooks = rig.hooks();
  std::sort(hooks.begin() + 1, hooks.end());
  CHECK(hooks[1] == "demote a standby 2");
  CHECK(hooks[2] == "promote b active 2");

  // a recovers; failback is manual, so b stays active.
  writeFile(rig.dir.file("a-ok"), "ok\n");
  std::this_thread::sleep_for(2s);
  state = rig.failover();
  CHECK(state["active"] == "b");
  CHECK(state["epoch"] == 2);

  const auto metrics = httpGet(rig.http_port, "/metrics").body;
  CHECK(metrics.find("hale_region_active{region=\"a\"} 0") != std::string::npos);
  CHECK(metrics.find("hale_region_active{region=\"b\"} 1") != std::string::npos);
  CHECK(metrics.find("hale_failover_total 1") != std::string::npos);

  // A restarted aggregator continues from the stored epoch and re-publishes the
  // same decision: agents take it as already applied, no hook runs again.
  rig.aggregator->stop(SIGTERM);
  rig.aggregator.reset();
  rig.startAggregator();
  state = rig.failover();
  CHECK(state["active"] == "b");
  CHECK(state["epoch"] == 2);
  REQUIRE(waitFor([&] { return rig.failover()["published_epoch"] == 2; }, 5s));
  std::this_thread::sleep_for(500ms);
  CHECK(rig.hooks().size() == 3);
  CHECK(readFile(rig.dir.file("na.log")).find("failover decision refused") == std::string::npos);
  CHECK(readFile(rig.dir.file("nb.log")).find("failover decision refused") == std::string::npos);
}
