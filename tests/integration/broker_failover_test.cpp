// A real agent with a list of brokers ([mqtt] urls) moves to the next one
// when its broker dies, and its outbox plus the end-to-end ack make the move
// lossless. Two Mosquitto brokers bridged both ways (the region's shards
// share the hale/v1 topics), the aggregator on the second; the agent starts
// on the first, which is SIGKILLed mid-stream and never comes back.
#include "agent/state/state_store.h"
#include "shared/sqlite/database.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <set>

using namespace hale;
using namespace hale::test;

namespace {
std::string tlsKeys(const std::string& pki, const std::string& identity) {
  return "ca_file = \"" + pki + "/ca.crt\"\ncert_file = \"" + pki + "/" + identity + ".crt\"\nkey_file = \"" + pki +
         "/" + identity + ".key\"\nreconnect_min = \"100ms\"\nreconnect_max = \"500ms\"\n";
}

struct Stored {
  int64_t count = 0;
};

Stored stored(const std::string& db_path) {
  sqlite::Database db(db_path);
  sqlite::Statement q(db, "SELECT count(*) FROM received WHERE node = 'mover'");
  REQUIRE(q.step());
  return {q.int64(0)};
}

std::set<int64_t> storedSeqs(const std::string& db_path) {
  sqlite::Database db(db_path);
  sqlite::Statement q(db, "SELECT seq FROM received WHERE node = 'mover'");
  std::set<int64_t> out;
  while (q.step()) out.insert(q.int64(0));
  return out;
}
}  // namespace

TEST_CASE("broker_failover: an agent moves to the next broker of its list with zero loss") {
  TempDir dir, second_dir;
  const std::string pki = makePki(dir, {"mover:eu"});
  Broker second(second_dir, pki);
  Broker first(dir, pki, 0, second.port());
  const uint16_t http_port = freePort();
  writeFile(dir.file("aggregator.toml"),
            "[aggregator]\ndatabase = \"" + dir.file("agg.db") +
                "\"\nbatch_interval = \"20ms\"\n[http]\nlisten = \"127.0.0.1:" + std::to_string(http_port) +
                "\"\n[mqtt]\nurl = \"" + second.url() + "\"\n" + tlsKeys(pki, "aggregator"));
  Process aggregator({binaryDir() + "/hale-aggregator", "run", "--config", dir.file("aggregator.toml")},
                     dir.file("aggregator.log"));
  REQUIRE(waitFor([&] { return httpGet(http_port, "/ready").status == 200; }, std::chrono::seconds(10)));

  std::string cfg = "[agent]\nnode = \"mover\"\nregion = \"eu\"\nstate_dir = \"" + dir.file("state") +
                    "\"\nheartbeat_interval = \"500ms\"\nbatch_interval = \"20ms\"\nbatch_max_results = 1\n"
                    "ack_timeout = \"1s\"\n[mqtt]\nurls = [\"" +
                    first.url() + "\", \"" + second.url() + "\"]\n" + tlsKeys(pki, "node-mover");
  for (int i = 0; i < 10; ++i)
    cfg += "[[check]]\nname = \"d" + std::to_string(i) + "\"\nkind = \"disk\"\npath = \"" + dir.path() +
           "\"\ninterval = \"100ms\"\n";
  writeFile(dir.file("agent.toml"), cfg);
  Process agent({binaryDir() + "/hale-agent", "run", "--config", dir.file("agent.toml")}, dir.file("agent.log"));

  // Streaming through the first broker (and its bridge) ...
  REQUIRE(waitFor([&] { return stored(dir.file("agg.db")).count >= 300; }, std::chrono::seconds(20)));
  const auto log = [&] { return readFile(dir.file("agent.log")); };
  CHECK(log().find("broker=" + first.url()) != std::string::npos);
  first.kill();  // SIGKILL: whatever it held unforwarded is lost and must be replayed
  // ... and on through the second.
  INFO("agent log:\n", log());
  REQUIRE(
      waitFor([&] { return log().find("moved to another broker") != std::string::npos; }, std::chrono::seconds(20)));
  const int64_t at_move = stored(dir.file("agg.db")).count;
  REQUIRE(waitFor([&] { return stored(dir.file("agg.db")).count >= at_move + 300; }, std::chrono::seconds(20)));

  // Stop the agent: every sequence number it used is stored by the aggregator
  // or still in its outbox (sent at its next start), none lost, none twice.
  REQUIRE(agent.stop(SIGTERM).has_value());
  agent::state::StateStore state(dir.file("state"));
  const auto last = static_cast<int64_t>(state.metaInt("seq"));
  std::set<int64_t> outbox;
  for (const auto& e : state.outboxAfter(0, 1'000'000)) outbox.insert(static_cast<int64_t>(e.seq));
  std::set<int64_t> received;
  const bool settled = waitFor(
      [&] {
        received = storedSeqs(dir.file("agg.db"));
        for (int64_t seq = 1; seq <= last; ++seq)
          if (!received.count(seq) && !outbox.count(seq)) return false;
        return true;
      },
      std::chrono::seconds(20));
  INFO("agent log:\n", log());
  INFO("stored ", received.size(), ", in the outbox ", outbox.size(), ", agent's last seq ", last);
  CHECK(settled);
  CHECK(static_cast<int64_t>(received.size()) <= last);
  CHECK(received.size() >= static_cast<size_t>(at_move + 300));
}
