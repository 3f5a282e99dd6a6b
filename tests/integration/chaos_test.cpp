// Delivery under faults, with the real binaries: agents -> Mosquitto (TLS,
// persistence on) -> hale-aggregator -> SQLite, while the broker, the
// aggregator and an agent are SIGKILLed and restarted. Storage must end with
// every message exactly once, checked by sequence number in the aggregator's DB.
#include "agent/state/state_store.h"
#include "shared/sqlite/database.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <atomic>
#include <map>
#include <thread>

using namespace hale;
using namespace hale::test;
using nlohmann::json;

namespace {
const std::vector<std::string> kNodes = {"c1", "c2", "c3"};
constexpr int kChecksPerAgent = 30;  // at 100 ms each, one result per message: ~300 messages/s per agent

struct ChaosRig {
  TempDir dir;
  std::string pki = makePki(dir, {"c1:eu", "c2:eu", "c3:us"});
  Broker broker{dir, pki};
  uint16_t http_port = freePort();
  std::optional<Process> aggregator;
  std::map<std::string, std::unique_ptr<Process>> agents;

  std::string mqtt(const std::string& identity) const {
    return "[mqtt]\nurl = \"" + broker.url() + "\"\nca_file = \"" + pki + "/ca.crt\"\ncert_file = \"" + pki + "/" +
           identity + ".crt\"\nkey_file = \"" + pki + "/" + identity +
           ".key\"\nreconnect_min = \"100ms\"\nreconnect_max = \"500ms\"\n";
  }

  ChaosRig() {
    writeFile(dir.file("aggregator.toml"), "[aggregator]\ndatabase = \"" + dir.file("agg.db") +
                                               "\"\nbatch_interval = \"20ms\"\n[http]\nlisten = \"127.0.0.1:" +
                                               std::to_string(http_port) + "\"\n" + mqtt("aggregator"));
    for (const auto& node : kNodes) {
      std::string cfg = "[agent]\nnode = \"" + node + "\"\nregion = \"" + (node == "c3" ? "us" : "eu") +
                        "\"\nstate_dir = \"" + dir.file(node) +
                        "\"\nheartbeat_interval = \"1s\"\nbatch_interval = \"20ms\"\nbatch_max_results = 1\n"
                        "ack_timeout = \"1s\"\nreplay_rate = 5000\n" +
                        mqtt("node-" + node);
      for (int i = 0; i < kChecksPerAgent; ++i)
        cfg += "[[check]]\nname = \"d" + std::to_string(i) + "\"\nkind = \"disk\"\npath = \"" + dir.path() +
               "\"\ninterval = \"100ms\"\n";
      writeFile(dir.file(node + ".toml"), cfg);
    }
  }

  void startAggregator() {
    aggregator.emplace(
        std::vector<std::string>{binaryDir() + "/hale-aggregator", "run", "--config", dir.file("aggregator.toml")},
        dir.file("aggregator.log"));
    REQUIRE(waitFor([&] { return httpGet(http_port, "/ready").status == 200; }, std::chrono::seconds(10)));
  }

  void startAgent(const std::string& node) {
    agents[node] = std::make_unique<Process>(
        std::vector<std::string>{binaryDir() + "/hale-agent", "run", "--config", dir.file(node + ".toml")},
        dir.file(node + ".log"));
  }

  struct Stored {
    uint64_t count = 0, min_seq = 0, max_seq = 0;
  };
  /// Per node, from the aggregator's database.
  std::map<std::string, Stored> stored() {
    std::map<std::string, Stored> out;
    sqlite::Database db(dir.file("agg.db"));
    sqlite::Statement q(db, "SELECT node, count(*), min(seq), max(seq) FROM received GROUP BY node");
    while (q.step())
      out[q.text(0)] = {static_cast<uint64_t>(q.int64(1)), static_cast<uint64_t>(q.int64(2)),
                        static_cast<uint64_t>(q.int64(3))};
    return out;
  }

  uint64_t storedTotal() {
    uint64_t n = 0;
    for (const auto& [node, s] : stored()) n += s.count;
    return n;
  }

  /// Waits until `n` more messages are stored, so every fault hits a live stream.
  void streamFor(uint64_t n) {
    const uint64_t target = storedTotal() + n;
    REQUIRE(waitFor([&] { return storedTotal() >= target; }, std::chrono::seconds(20)));
  }
};
}  // namespace

TEST_CASE("chaos: >= 20,000 messages from 3 agents survive broker, aggregator and agent SIGKILLs exactly once") {
  const auto started = std::chrono::steady_clock::now();
  ChaosRig rig;
  rig.startAggregator();
  for (const auto& node : kNodes) rig.startAgent(node);

  rig.streamFor(2000);
  rig.broker.kill();  // SIGKILL: whatever it had not saved to disk is lost, and must be replayed
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  rig.broker.start();  // same port, same persistence directory
  rig.streamFor(3000);

  REQUIRE(rig.aggregator->stop(SIGKILL).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  rig.startAggregator();  // its persistent session kept what arrived meanwhile
  rig.streamFor(3000);

  REQUIRE(rig.agents["c2"]->stop(SIGKILL).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  rig.startAgent("c2");  // its outbox survived in SQLite
  rig.streamFor(3000);

  rig.broker.kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  rig.broker.start();
  REQUIRE(waitFor([&] { return rig.storedTotal() >= 20'000; }, std::chrono::seconds(40)));

  // Stop the agents cleanly and take their last sequence numbers; restarted
  // (they replay their outboxes), everything up to those numbers must arrive.
  std::map<std::string, uint64_t> last;
  for (const auto& node : kNodes) {
    REQUIRE(rig.agents[node]->stop(SIGTERM).has_value());
    agent::state::StateStore store(rig.dir.file(node));
    last[node] = static_cast<uint64_t>(store.metaInt("seq"));
  }
  for (const auto& node : kNodes) rig.startAgent(node);
  auto storedUpTo = [&](const std::string& node) {
    sqlite::Database db(rig.dir.file("agg.db"));
    sqlite::Statement q(db, "SELECT count(*) FROM received WHERE node = ? AND seq BETWEEN 1 AND ?");
    q.with(node, last[node]);
    return q.step() ? static_cast<uint64_t>(q.int64(0)) : 0;
  };
  REQUIRE(waitFor(
      [&] {
        for (const auto& node : kNodes)
          if (storedUpTo(node) != last[node]) return false;
        return true;
      },
      std::chrono::seconds(30)));
  for (const auto& node : kNodes) rig.agents[node]->stop(SIGTERM);
  const std::string metrics = httpGet(rig.http_port, "/metrics").body;
  const std::string dup_key = "hale_ingest_messages_total{outcome=\"duplicate\"} ";
  const auto dup_at = metrics.find(dup_key);
  const std::string redelivered =
      dup_at == std::string::npos
          ? "?"
          : metrics.substr(dup_at + dup_key.size(), metrics.find('\n', dup_at) - dup_at - dup_key.size());
  REQUIRE(rig.aggregator->stop(SIGTERM).has_value());

  // Exactly once: per node, sequence numbers 1..max all present (count == max,
  // min == 1; (node, seq) is the key), and no check result stored twice.
  uint64_t total = 0;
  for (const auto& entry : rig.stored()) {
    const std::string& node = entry.first;  // named, not a structured binding: INFO captures it
    const ChaosRig::Stored& s = entry.second;
    INFO("node " << node);
    CHECK(s.min_seq == 1);
    CHECK(s.count == s.max_seq);
    CHECK(s.max_seq >= last[node]);
    total += s.count;
  }
  CHECK(total >= 20'000);
  sqlite::Database db(rig.dir.file("agg.db"));
  sqlite::Statement dups(db,
                         "SELECT count(*) FROM (SELECT 1 FROM check_results GROUP BY node, check_name, observed_at_ms "
                         "HAVING count(*) > 1)");
  REQUIRE(dups.step());
  CHECK(dups.int64(0) == 0);
  sqlite::Statement results(db, "SELECT count(*) FROM check_results");
  REQUIRE(results.step());
  // The faults really happened and were survived, not avoided.
  const std::string agent_log = readFile(rig.dir.file("c1.log"));
  CHECK(agent_log.find("connect failed") != std::string::npos);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("chaos: " << total << " messages (" << results.int64(0) << " check results) stored exactly once in " << secs
                    << " s; redeliveries dropped as duplicates since the aggregator's restart: " << redelivered
                    << "; last seqs c1=" << last["c1"] << " c2=" << last["c2"] << " c3=" << last["c3"]);
}

TEST_CASE("backlog: 50 agents replaying 1,000 messages each at once while /health answers throughout, all are stored") {
  constexpr int kAgents = 50, kBacklog = 1000;
  TempDir dir;
  std::vector<std::string> nodes;
  for (int i = 0; i < kAgents; ++i) nodes.push_back("bl" + std::to_string(i));
  const std::string pki = makePki(dir, nodes);
  Broker broker(dir, pki);
  const uint16_t http_port = freePort();
  writeFile(dir.file("aggregator.toml"),
            "[aggregator]\ndatabase = \"" + dir.file("agg.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                std::to_string(http_port) + "\"\n[mqtt]\nurl = \"" + broker.url() + "\"\nca_file = \"" + pki +
                "/ca.crt\"\ncert_file = \"" + pki + "/aggregator.crt\"\nkey_file = \"" + pki + "/aggregator.key\"\n");
  Process aggregator({binaryDir() + "/hale-aggregator", "run", "--config", dir.file("aggregator.toml")},
                     dir.file("aggregator.log"));
  REQUIRE(waitFor([&] { return httpGet(http_port, "/ready").status == 200; }, std::chrono::seconds(10)));

  auto storedCount = [&] {
    sqlite::Database db(dir.file("agg.db"));
    sqlite::Statement q(db, "SELECT count(*) FROM received");
    return q.step() ? q.int64(0) : 0;
  };
  std::atomic<bool> done{false};
  std::atomic<int64_t> worst_ms{0}, polls{0}, failures{0};
  std::thread poller([&] {
    while (!done) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto r = httpGet(http_port, "/health", std::chrono::seconds(5));
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      if (r.status != 200) ++failures;
      worst_ms = std::max<int64_t>(worst_ms, ms);
      ++polls;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Every simulated agent connects at once and sends its whole backlog as
  // fast as QoS 1 allows: worse than real agents, which pace their replay.
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = runCommand({binaryDir() + "/bench/hale-load-gen", broker.url(), pki, "eu", "bl",
                             std::to_string(kAgents), std::to_string(kBacklog)},
                            dir.file("load.log"));
  const bool all = waitFor([&] { return storedCount() >= kAgents * kBacklog; }, std::chrono::seconds(60));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done = true;
  poller.join();
  CHECK(rc == 0);
  REQUIRE(all);

  sqlite::Database db(dir.file("agg.db"));
  sqlite::Statement q(db, "SELECT node, count(*), min(seq), max(seq) FROM received GROUP BY node");
  int node_count = 0;
  while (q.step()) {
    INFO("node " << q.text(0));
    CHECK(q.int64(1) == kBacklog);
    CHECK(q.int64(2) == 1);
    CHECK(q.int64(3) == kBacklog);
    ++node_count;
  }
  CHECK(node_count == kAgents);
  MESSAGE("backlog: " << kAgents * kBacklog << " messages stored in " << secs << " s; /health polled " << polls.load()
                      << " times, slowest answer " << worst_ms.load() << " ms, failures " << failures.load());
  CHECK(polls >= 5);
  CHECK(failures == 0);
  CHECK(worst_ms < 2000);
}
