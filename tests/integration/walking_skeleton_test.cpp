// The foundation end to end: a real Mosquitto with mutual TLS, the real
// hale-aggregator and hale-agent binaries, and the HTTP API over a socket.
#include "shared/wire/envelope.h"
#include "shared/wire/topics.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <filesystem>
#include <set>
#include <thread>

using namespace hale::test;
using nlohmann::json;

namespace {

struct Fleet {
  TempDir dir;
  std::string pki;
  std::optional<Broker> broker;
  uint16_t http_port = freePort();
  std::optional<Process> aggregator;
  std::vector<std::unique_ptr<Process>> agents;
  std::string agent_mqtt_extra;  ///< extra [mqtt] lines for agents started after it is set

  explicit Fleet(const std::vector<std::string>& nodes, bool start_broker = true) {
    pki = makePki(dir, nodes);
    if (start_broker) broker.emplace(dir, pki);
  }

  std::string mqttSection(const std::string& identity, uint16_t port) const {
    return "[mqtt]\nurl = \"mqtts://localhost:" + std::to_string(port) + "\"\nca_file = \"" + pki +
           "/ca.crt\"\ncert_file = \"" + pki + "/" + identity + ".crt\"\nkey_file = \"" + pki + "/" + identity +
           ".key\"\nreconnect_min = \"100ms\"\nreconnect_max = \"1s\"\n";
  }

  void startAggregator(uint16_t broker_port) {
    const std::string cfg = dir.file("aggregator.toml");
    writeFile(cfg, "[aggregator]\ndatabase = \"" + dir.file("aggregator.db") + "\"\nbatch_interval = \"20ms\"\n" +
                       "[http]\nlisten = \"127.0.0.1:" + std::to_string(http_port) + "\"\n" +
                       mqttSection("aggregator", broker_port));
    aggregator.emplace(std::vector<std::string>{binaryDir() + "/hale-aggregator", "run", "--config", cfg},
                       dir.file("aggregator.log"));
    // Ready means subscribed: agents started after this lose nothing to an empty broker.
    REQUIRE(waitFor([&] { return httpGet(http_port, "/ready").status == 200; }, std::chrono::seconds(10)));
  }

  Process& startAgent(const std::string& node, const std::string& region, uint16_t broker_port) {
    const std::string cfg = dir.file(node + ".toml");
    writeFile(cfg, "[agent]\nnode = \"" + node + "\"\nregion = \"" + region + "\"\nstate_dir = \"" +
                       dir.file(node + "-state") + "\"\nheartbeat_interval = \"1s\"\nbatch_interval = \"50ms\"\n" +
                       mqttSection("node-" + node, broker_port) + agent_mqtt_extra +
                       "[[check]]\nname = \"tmp-disk\"\nkind = \"disk\"\npath = \"" + dir.path() +
                       "\"\ninterval = \"500ms\"\n"
                       "[[check]]\nname = \"self\"\nkind = \"process\"\nmatch_name = \"hale-agent\"\n"
                       "min_count = 0\ninterval = \"500ms\"\n");
    agents.push_back(std::make_unique<Process>(
        std::vector<std::string>{binaryDir() + "/hale-agent", "run", "--config", cfg}, dir.file(node + ".log")));
    return *agents.back();
  }

  json node(const std::string& id) {
    auto r = httpGet(http_port, "/api/v1/nodes/" + id);
    if (r.status != 200) return json::object();
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j : json::object();
  }

  uint64_t invalidCount() {
    const auto body = httpGet(http_port, "/metrics").body;
    const std::string key = "hale_ingest_messages_total{outcome=\"invalid\"} ";
    const auto at = body.find(key);
    return at == std::string::npos ? 0 : std::stoull(body.substr(at + key.size()));
  }
};

std::unique_ptr<mqtt::async_client> connectAs(const std::string& pki, const std::string& identity, uint16_t port,
                                              const std::string& ca = "") {
  auto client = std::make_unique<mqtt::async_client>("ssl://localhost:" + std::to_string(port), "test-" + identity,
                                                     mqtt::create_options(MQTTVERSION_5));
  mqtt::ssl_options ssl;
  ssl.set_trust_store(ca.empty() ? pki + "/ca.crt" : ca);
  if (!identity.empty()) {
    ssl.set_key_store(pki + "/" + identity + ".crt");
    ssl.set_private_key(pki + "/" + identity + ".key");
  }
  auto opts = mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).ssl(ssl).clean_start(true).finalize();
  client->connect(opts)->wait_for(std::chrono::seconds(5));
  return client;
}

bool canConnect(const std::string& pki, const std::string& identity, uint16_t port, const std::string& ca = "") {
  try {
    auto c = connectAs(pki, identity, port, ca);
    return c->is_connected();
  } catch (const mqtt::exception&) {
    return false;
  }
}

std::string envelopeFor(const std::string& node, const std::string& region, uint64_t seq) {
  hale::wire::ResultRecord r;
  r.check = "forged";
  r.kind = "disk";
  r.status = hale::wire::CheckStatus::Crit;
  r.message = "forged";
  const auto bytes = hale::wire::buildCheckBatch({node, region, seq, 1}, std::span(&r, 1));
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("skeleton: an agent's checks reach the API through a TLS broker, and it goes offline on stop") {
  Fleet fleet({"n1"});
  fleet.startAggregator(fleet.broker->port());
  Process& agent = fleet.startAgent("n1", "eu-west", fleet.broker->port());

  REQUIRE(waitFor(
      [&] { return fleet.node("n1").value("checks", 0) == 2 && fleet.node("n1").value("agent_version", "") != ""; },
      std::chrono::seconds(20)));
  const json node = fleet.node("n1");
  CHECK(node["region"] == "eu-west");
  CHECK(node["online"] == true);
  CHECK(node["agent_version"] == HALE_VERSION);
  std::set<std::string> checks;
  for (const auto& r : node["results"]) checks.insert(r["check"].get<std::string>());
  CHECK(checks == std::set<std::string>{"self", "tmp-disk"});
  for (const auto& r : node["results"]) {
    if (r["check"] == "tmp-disk") {
      CHECK(r["kind"] == "disk");
      CHECK(r["component"] == "storage");
      CHECK(r["metrics"]["used_percent"].get<double>() > 0.0);
    }
  }

  auto list = json::parse(httpGet(fleet.http_port, "/api/v1/nodes?region=eu-west").body);
  CHECK(list["total"] == 1);
  CHECK(list["nodes"][0]["node"] == "n1");
  CHECK(json::parse(httpGet(fleet.http_port, "/api/v1/nodes?region=us-east").body)["total"] == 0);
  CHECK(httpGet(fleet.http_port, "/api/v1/nodes/nobody").status == 404);
  CHECK(httpGet(fleet.http_port, "/ready").status == 200);

  REQUIRE(agent.stop(SIGTERM).has_value());
  CHECK(waitFor([&] { return fleet.node("n1")["online"] == false; }, std::chrono::seconds(5)));
}

TEST_CASE("skeleton: a hung agent is marked offline within 1.5x its keepalive, a killed one at once (last will)") {
  Fleet fleet({"n1"});
  fleet.startAggregator(fleet.broker->port());
  fleet.agent_mqtt_extra = "keepalive = \"2s\"\n";
  Process& agent = fleet.startAgent("n1", "eu-west", fleet.broker->port());
  auto secondsUntilOffline = [&] {
    const auto since = std::chrono::steady_clock::now();
    REQUIRE(waitFor([&] { return fleet.node("n1")["online"] == false; }, std::chrono::seconds(10)));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
  };
  REQUIRE(waitFor([&] { return fleet.node("n1").value("online", false); }, std::chrono::seconds(20)));
  // Stopped, not dead: the TCP connection stays open and silent, so only the
  // broker's keepalive (1.5 x 2 s) can tell, then it publishes the last will.
  REQUIRE(::kill(agent.pid(), SIGSTOP) == 0);
  const double hung = secondsUntilOffline();
  MESSAGE("hung agent offline after " << hung << " s (keepalive 2 s)");
  CHECK(hung > 1.0);
  CHECK(hung < 3.0 + 1.0);  // plus delivery, ingest and the API poll
  REQUIRE(::kill(agent.pid(), SIGCONT) == 0);
  REQUIRE(waitFor([&] { return fleet.node("n1").value("online", false); }, std::chrono::seconds(20)));
  // Killed: the kernel closes the socket and the broker sends the will at once.
  REQUIRE(agent.stop(SIGKILL).has_value());
  const double killed = secondsUntilOffline();
  MESSAGE("killed agent offline after " << killed << " s");
  CHECK(killed < 2.0);
}

TEST_CASE("skeleton: the broker refuses a client without a certificate or with one from another CA") {
  Fleet fleet({"n1"});
  CHECK(canConnect(fleet.pki, "node-n1", fleet.broker->port()));
  CHECK_FALSE(canConnect(fleet.pki, "", fleet.broker->port()));

  TempDir other;
  const std::string other_pki = makePki(other, {"n1"});
  // A certificate for the same CN, signed by a CA the broker does not trust.
  CHECK_FALSE(canConnect(other_pki, "node-n1", fleet.broker->port(), fleet.pki + "/ca.crt"));
  // Both refusals are recorded, with their reason, in the broker's log.
  CHECK(waitFor(
      [&] {
        const std::string log = readFile(fleet.dir.file("mosquitto.log"));
        return log.find("peer did not return a certificate") != std::string::npos &&
               log.find("certificate verify failed") != std::string::npos;
      },
      std::chrono::seconds(5)));
}

TEST_CASE("skeleton: a node cannot publish as another node") {
  Fleet fleet({"n1", "n2"});
  fleet.startAggregator(fleet.broker->port());
  auto n1 = connectAs(fleet.pki, "node-n1", fleet.broker->port());
  REQUIRE(n1->is_connected());

  // On n2's topic: the broker's ACL refuses it (MQTT v5 reason 135, not authorized).
  auto token = n1->publish(hale::wire::telemetryTopic("eu", "n2"), envelopeFor("n2", "eu", 1), 1, false);
  int reason = 0;
  try {
    token->wait_for(std::chrono::seconds(5));
    reason = static_cast<int>(token->get_reason_code());
  } catch (const mqtt::exception& e) {
    reason = e.get_reason_code();
  }
  CHECK(reason == 135);

  // On its own topic but claiming to be n2: the aggregator rejects and counts it.
  const uint64_t invalid_before = fleet.invalidCount();
  n1->publish(hale::wire::telemetryTopic("eu", "n1"), envelopeFor("n2", "eu", 1), 1, false)
      ->wait_for(std::chrono::seconds(5));
  // Garbage on its own topic: counted, and the aggregator keeps serving.
  n1->publish(hale::wire::telemetryTopic("eu", "n1"), std::string("\x00\x01garbage", 9), 1, false)
      ->wait_for(std::chrono::seconds(5));
  CHECK(waitFor([&] { return fleet.invalidCount() >= invalid_before + 2; }, std::chrono::seconds(5)));
  CHECK(httpGet(fleet.http_port, "/api/v1/nodes/n2").status == 404);
  CHECK(httpGet(fleet.http_port, "/health").status == 200);
}

TEST_CASE("skeleton: an agent started while the broker is down keeps its results and delivers them later") {
  Fleet fleet({"n1"}, /*start_broker=*/false);
  const uint16_t port = freePort();
  fleet.startAgent("n1", "eu", port);
  // Results accumulate in the agent's outbox while nothing listens.
  std::this_thread::sleep_for(std::chrono::seconds(2));

  // Now bring the broker up on that port, then the aggregator.
  fleet.broker.emplace(fleet.dir, fleet.pki, port);
  fleet.startAggregator(port);
  REQUIRE(waitFor([&] { return fleet.node("n1").value("checks", 0) == 2; }, std::chrono::seconds(20)));
  // Every message since the first is stored: the outbox was replayed from seq 1.
  const json node = fleet.node("n1");
  CHECK(node["last_seq"].get<uint64_t>() >= 4);
  CHECK(node["missing"] == 0);
  const std::string log = readFile(fleet.dir.file("n1.log"));
  CHECK(log.find("connect failed") != std::string::npos);
  CHECK(log.find("retry_in_ms") != std::string::npos);
}

TEST_CASE("skeleton: SIGHUP re-reads the node certificate without restarting the agent") {
  Fleet fleet({"n1"});
  fleet.startAggregator(fleet.broker->port());
  Process& agent = fleet.startAgent("n1", "eu", fleet.broker->port());
  REQUIRE(waitFor([&] { return fleet.node("n1").value("online", false); }, std::chrono::seconds(20)));
  const std::string log = fleet.dir.file("n1.log");
  auto count = [&](const std::string& what) {
    const std::string text = readFile(log);
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };

  // Rotate to a certificate from a CA the broker does not trust: the reload
  // must pick it up (and fail), proving the files are read again.
  TempDir other;
  const std::string other_pki = makePki(other, {"n1"});
  std::filesystem::copy_file(other_pki + "/node-n1.crt", fleet.pki + "/node-n1.crt",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(other_pki + "/node-n1.key", fleet.pki + "/node-n1.key",
                             std::filesystem::copy_options::overwrite_existing);
  ::kill(agent.pid(), SIGHUP);
  // Deadlines are generous: a loaded 2-core machine may take seconds per TLS handshake.
  CHECK(waitFor([&] { return count("connect failed") >= 1; }, std::chrono::seconds(60)));

  // Now a fresh certificate from the right CA, same CN: the agent reconnects.
  std::filesystem::remove(fleet.pki + "/node-n1.crt");
  std::filesystem::remove(fleet.pki + "/node-n1.key");
  REQUIRE(runCommand({sourceDir() + "/scripts/dev-pki.sh", fleet.pki, "n1"}) == 0);
  const size_t connected_before = count("info  mqtt: connected");
  ::kill(agent.pid(), SIGHUP);
  CHECK(waitFor([&] { return count("info  mqtt: connected") > connected_before; }, std::chrono::seconds(60)));
  CHECK(agent.running());
}

TEST_CASE("acl: a node receives its own region's commands and no other region's") {
  Fleet fleet({"e1:eu", "u1:us", "x1"});
  const uint16_t port = fleet.broker->port();
  auto receives = [&](const std::string& identity, const std::string& filter, std::string topic = "") {
    if (topic.empty()) topic = filter;
    auto client = connectAs(fleet.pki, identity, port);
    REQUIRE(client->is_connected());
    client->start_consuming();
    try {
      client->subscribe(filter, 1)->wait_for(std::chrono::seconds(5));
    } catch (const mqtt::exception&) {
      return false;  // refused at subscribe time
    }
    auto aggregator = connectAs(fleet.pki, "aggregator", port);
    aggregator->publish(topic, std::string("command bytes"), 1, false)->wait_for(std::chrono::seconds(5));
    mqtt::const_message_ptr msg;
    const bool got =
        client->try_consume_message_for(&msg, std::chrono::milliseconds(1500)) && msg && msg->get_topic() == topic;
    client->stop_consuming();
    return got;
  };
  CHECK(receives("node-e1", "hale/v1/eu/cmd"));
  CHECK(receives("node-u1", "hale/v1/us/cmd"));
  CHECK_FALSE(receives("node-e1", "hale/v1/us/cmd"));
  CHECK_FALSE(receives("node-u1", "hale/v1/eu/cmd"));
  CHECK_FALSE(receives("node-e1", "hale/v1/+/cmd", "hale/v1/us/cmd"));
  CHECK_FALSE(receives("node-x1", "hale/v1/eu/cmd"));  // no region in its certificate: none
  // Its own node command topic still works, another node's does not.
  CHECK(receives("node-e1", "hale/v1/eu/e1/cmd"));
  CHECK_FALSE(receives("node-e1", "hale/v1/us/u1/cmd"));
}
