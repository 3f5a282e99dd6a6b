// Signed commands and end-to-end acks with the real binaries and broker.
#include "agent/state/state_store.h"
#include "shared/crypto/crypto.h"
#include "shared/util/clock.h"
#include "shared/wire/command.h"
#include "shared/wire/topics.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <filesystem>
#include <thread>

using namespace hale;
using namespace hale::test;
using nlohmann::json;

namespace {
struct CommandRig {
  TempDir dir;
  std::string pki = makePki(dir, {"n1:eu"});
  Broker broker{dir, pki};
  uint16_t http_port = freePort();
  std::optional<Process> aggregator;
  std::optional<Process> agent;

  std::string mqtt(const std::string& identity) const {
    return "[mqtt]\nurl = \"" + broker.url() + "\"\nca_file = \"" + pki + "/ca.crt\"\ncert_file = \"" + pki + "/" +
           identity + ".crt\"\nkey_file = \"" + pki + "/" + identity + ".key\"\n";
  }

  explicit CommandRig(const std::string& extra_agent_config = "") {
    REQUIRE(runCommand({binaryDir() + "/hale-aggregator", "keygen", dir.file("keys")}) == 0);
    writeFile(dir.file("write.token"), "integration-write-token-42\n");
    writeFile(dir.file("aggregator.toml"),
              "[aggregator]\ndatabase = \"" + dir.file("agg.db") +
                  "\"\nbatch_interval = \"20ms\"\n[http]\nlisten = \"127.0.0.1:" + std::to_string(http_port) +
                  "\"\nwrite_token_file = \"" + dir.file("write.token") + "\"\n[commands]\nsigning_key_file = \"" +
                  dir.file("keys/command-signing.key") + "\"\nepoch = 5\n" + mqtt("aggregator"));
    writeFile(dir.file("n1.toml"),
              "[agent]\nnode = \"n1\"\nregion = \"eu\"\nstate_dir = \"" + dir.file("n1") +
                  "\"\nheartbeat_interval = \"300ms\"\nbatch_interval = \"20ms\"\nack_timeout = \"1s\"\n" +
                  "[commands]\npublic_key_files = [\"" + dir.file("keys/command-signing.pub") + "\"]\n" +
                  mqtt("node-n1") + "[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/\"\ninterval = \"200ms\"\n" +
                  extra_agent_config);
    aggregator.emplace(
        std::vector<std::string>{binaryDir() + "/hale-aggregator", "run", "--config", dir.file("aggregator.toml")},
        dir.file("aggregator.log"));
    agent.emplace(std::vector<std::string>{binaryDir() + "/hale-agent", "run", "--config", dir.file("n1.toml")},
                  dir.file("n1.log"));
    REQUIRE(waitFor([&] { return httpGet(http_port, "/api/v1/nodes/n1").status == 200; }, std::chrono::seconds(15)));
  }

  json auditTail() {
    const std::string out = dir.file("audit.json");
    runCommand({"/bin/sh", "-c",
                binaryDir() + "/hale-agent audit tail -n 50 --json --config " + dir.file("n1.toml") + " > " + out});
    return json::parse(readFile(out), nullptr, false);
  }
};

void publishAsAggregator(const CommandRig& rig, const std::string& topic, const std::vector<uint8_t>& bytes) {
  mqtt::async_client client("ssl://localhost:" + std::to_string(rig.broker.port()), "test-aggregator",
                            mqtt::create_options(MQTTVERSION_5));
  mqtt::ssl_options ssl;
  ssl.set_trust_store(rig.pki + "/ca.crt");
  ssl.set_key_store(rig.pki + "/aggregator.crt");
  ssl.set_private_key(rig.pki + "/aggregator.key");
  client.connect(mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).ssl(ssl).finalize())->wait();
  client.publish(topic, std::string(bytes.begin(), bytes.end()), 1, false)->wait();
  client.disconnect()->wait();
}

wire::CommandSpec freshSpec(uint64_t epoch) {
  wire::CommandSpec s;
  s.target_region = "eu";
  s.target_node = "n1";
  s.epoch = epoch;
  s.issued_at_ms = unixMillisNow();
  s.expires_at_ms = s.issued_at_ms + 60'000;
  s.action = wire::AutoRemediationAction{true, ""};
  return s;
}
}  // namespace

TEST_CASE(
    "commands: a signed command is executed once, and forged, replayed, expired and stale ones are refused and "
    "audited") {
  CommandRig rig;
  REQUIRE(runCommand({binaryDir() + "/hale-aggregator", "command", "--config", rig.dir.file("aggregator.toml"),
                      "--region", "eu", "--node", "n1", "auto-remediation", "off"},
                     rig.dir.file("cli.log")) == 0);

  auto key = crypto::Key::fromFile(rig.dir.file("keys/command-signing.key"), true);
  REQUIRE(key.ok());
  const std::string topic = wire::nodeCommandTopic("eu", "n1");
  const auto good = wire::buildSignedCommand(freshSpec(5), *key);
  publishAsAggregator(rig, topic, good);
  publishAsAggregator(rig, topic, good);                                                             // replay
  publishAsAggregator(rig, topic, wire::buildSignedCommand(freshSpec(5), crypto::Key::generate()));  // forged
  auto expired = freshSpec(5);
  expired.issued_at_ms -= 120'000;
  expired.expires_at_ms = expired.issued_at_ms + 1000;
  publishAsAggregator(rig, topic, wire::buildSignedCommand(expired, *key));
  publishAsAggregator(rig, topic, wire::buildSignedCommand(freshSpec(4), *key));            // older epoch
  publishAsAggregator(rig, topic, {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});  // garbage

  json audit;
  REQUIRE(waitFor(
      [&] {
        audit = rig.auditTail();
        return audit.is_array() && audit.size() >= 7;
      },
      std::chrono::seconds(10)));
  std::vector<std::string> outcomes, details;
  for (const auto& e : audit) {
    outcomes.push_back(e["outcome"]);
    details.push_back(e["detail"]);
  }
  CHECK(outcomes[0] == "executed");
  CHECK(details[0] == "auto-remediation off");
  CHECK(outcomes[1] == "executed");
  CHECK(details[1] == "auto-remediation on");
  CHECK(details[2].find("replayed") != std::string::npos);
  CHECK(details[3].find("signature") != std::string::npos);
  CHECK(details[4] == "command expired");
  CHECK(details[5].find("stale epoch 4") != std::string::npos);
  CHECK(outcomes[6] == "refused");
  CHECK(runCommand({binaryDir() + "/hale-agent", "audit", "verify", "--config", rig.dir.file("n1.toml")}) == 0);
}

TEST_CASE("acks: messages the broker dropped are replayed, and the outbox empties as the aggregator commits") {
  // The agent may connect before the aggregator has subscribed: the broker
  // acknowledges and drops those first messages. The end-to-end ack stalls at
  // the gap, and the agent replays them after ack_timeout.
  CommandRig rig;
  REQUIRE(waitFor(
      [&] {
        auto node = json::parse(httpGet(rig.http_port, "/api/v1/nodes/n1").body, nullptr, false);
        return node.is_object() && node.value("last_seq", 0) >= 15 && node.value("missing", 1) == 0;
      },
      std::chrono::seconds(20)));
  REQUIRE(rig.agent->stop(SIGTERM).has_value());
  agent::state::StateStore store(rig.dir.file("n1"));
  const uint64_t last = static_cast<uint64_t>(store.metaInt("seq"));
  // Everything except what was sent in the last moments has been acknowledged and trimmed.
  CHECK(store.outboxDepth() <= 5);
  CHECK(last >= 15);
  auto node = json::parse(httpGet(rig.http_port, "/api/v1/nodes/n1").body);
  CHECK(node["missing"] == 0);
  CHECK(node["messages"].get<uint64_t>() + store.outboxDepth() >= last);
}

TEST_CASE("builds: hale-agent exec records a diagnosed failure that reaches /api/v1/builds") {
  CommandRig rig;
  const std::string log = rig.dir.file("exec.log");
  // A network failure: retried once after a short delay, then given up.
  const int rc = runCommand({binaryDir() + "/hale-agent", "exec", "--config", rig.dir.file("n1.toml"), "--max-attempts",
                             "2", "--retry-delay", "100ms", "--", "/bin/sh", "-c",
                             "echo 'fatal: unable to access https://example.invalid/: Could not resolve host: "
                             "example.invalid'; exit 128"},
                            log);
  CHECK(rc == 128);
  CHECK(readFile(log).find("Could not resolve host") != std::string::npos);
  json builds;
  REQUIRE(waitFor(
      [&] {
        builds = json::parse(httpGet(rig.http_port, "/api/v1/builds").body, nullptr, false);
        return builds.is_object() && builds["recent"].size() == 2;
      },
      std::chrono::seconds(15)));
  CHECK(builds["categories"][0]["category"] == "network");
  CHECK(builds["categories"][0]["count"] == 2);
  CHECK(builds["recent"][0]["node"] == "n1");
  CHECK(builds["recent"][1]["remedy"] == "retry");
  CHECK(builds["recent"][0]["evidence"][0].get<std::string>().find("Could not resolve host") != std::string::npos);
}

TEST_CASE("commands: a POST to the API becomes a signed command the agent executes") {
  CommandRig rig;
  REQUIRE(waitFor([&] { return httpGet(rig.http_port, "/ready").status == 200; }, std::chrono::seconds(10)));
  const std::string body = R"({"enabled": false, "node": "n1"})";
  auto request = [&](const std::string& auth) {
    return httpRequest(rig.http_port, "POST /api/v1/auto-remediation HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                                          "Content-Type: application/json\r\nContent-Length: " +
                                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  };
  CHECK(request("").status == 401);
  const auto accepted = request("Authorization: Bearer integration-write-token-42\r\n");
  REQUIRE(accepted.status == 202);
  CHECK(json::parse(accepted.body)["topic"] == "hale/v1/eu/n1/cmd");
  json audit;
  REQUIRE(waitFor(
      [&] {
        audit = rig.auditTail();
        return audit.is_array() && !audit.empty();
      },
      std::chrono::seconds(10)));
  CHECK(audit.back()["outcome"] == "executed");
  CHECK(audit.back()["detail"] == "auto-remediation off");
}

TEST_CASE("backup: hale-aggregator backup copies the live database and restore needs it stopped") {
  CommandRig rig;
  const std::string cfg = rig.dir.file("aggregator.toml");
  REQUIRE(waitFor(
      [&] {
        return json::parse(httpGet(rig.http_port, "/api/v1/nodes/n1").body, nullptr, false).value("last_seq", 0) >= 5;
      },
      std::chrono::seconds(15)));
  CHECK(runCommand({binaryDir() + "/hale-aggregator", "backup", "--config", cfg, rig.dir.file("backup.db")},
                   rig.dir.file("backup.log")) == 0);
  CHECK(readFile(rig.dir.file("backup.log")).find("integrity ok") != std::string::npos);
  CHECK(runCommand({binaryDir() + "/hale-aggregator", "backup", "--config", cfg, rig.dir.file("backup.db")}) == 1);
  CHECK(runCommand({binaryDir() + "/hale-aggregator", "restore", "--config", cfg, rig.dir.file("backup.db")},
                   rig.dir.file("restore.log")) == 1);  // still running
  CHECK(readFile(rig.dir.file("restore.log")).find("stop it") != std::string::npos);
  rig.agent->stop(SIGTERM);
  REQUIRE(rig.aggregator->stop(SIGTERM).has_value());
  CHECK(runCommand({binaryDir() + "/hale-aggregator", "restore", "--config", cfg, rig.dir.file("backup.db")}) == 0);
}

TEST_CASE("commands: TriggerRemediation runs a check's plan now and an unknown check is refused and audited") {
  TempDir files;
  const std::string flag = files.file("flag");
  // Automatic remediation is off: only the signed command makes the plan run.
  CommandRig rig(
      "[remediation]\nauto_remediation = false\nallowlist = [\"/usr/bin/touch\"]\ncooldown = \"0s\"\n"
      "[[check]]\nname = \"flag\"\nkind = \"file\"\npath = \"" +
      flag +
      "\"\ninterval = \"200ms\"\nfail_after = 1\n"
      "  [[check.remedy]]\n  action = \"run\"\n  argv = [\"/usr/bin/touch\", \"" +
      flag + "\"]\n  settle = \"0s\"\n");
  auto rowWith = [&](const json& audit, const std::string& outcome, const std::string& part) {
    if (!audit.is_array()) return false;
    for (const auto& e : audit)
      if (e["outcome"] == outcome && e["detail"].get<std::string>().find(part) != std::string::npos) return true;
    return false;
  };
  json audit;
  REQUIRE(waitFor([&] { return rowWith(audit = rig.auditTail(), "skipped", "auto-remediation is off"); },
                  std::chrono::seconds(10)));
  CHECK_FALSE(std::filesystem::exists(flag));
  for (const char* check : {"nope", "flag"})
    REQUIRE(runCommand({binaryDir() + "/hale-aggregator", "command", "--config", rig.dir.file("aggregator.toml"),
                        "--region", "eu", "--node", "n1", "trigger", check},
                       rig.dir.file("cli.log")) == 0);
  REQUIRE(waitFor([&] { return rowWith(audit = rig.auditTail(), "healed", "check ok"); }, std::chrono::seconds(10)));
  CHECK(std::filesystem::exists(flag));
  CHECK(rowWith(audit, "refused", "trigger: no check 'nope'"));
  CHECK(rowWith(audit, "executed", "remediation of flag triggered"));
  CHECK(rowWith(audit, "fired", "triggered by command:"));
  CHECK(runCommand({binaryDir() + "/hale-agent", "audit", "verify", "--config", rig.dir.file("n1.toml")}) == 0);
}

TEST_CASE(
    "commands: a signed RunDrill kills the agent's supervised child, its plan restarts it and the verdict reaches the "
    "aggregator") {
  CommandRig rig(
      "[remediation]\nbackoff_initial = \"50ms\"\n"
      "[[check]]\nname = \"worker\"\nkind = \"process\"\nargv = [\"/usr/bin/sleep\", \"600\"]\n"
      "interval = \"200ms\"\nfail_after = 1\n"
      "[[check.remedy]]\naction = \"restart\"\nsupervised = true\nsettle = \"100ms\"\n"
      "[[check]]\nname = \"tls\"\nkind = \"certificate\"\nfile = \"/nonexistent.pem\"\n");
  const auto command = [&](const std::string& check) {
    return runCommand({binaryDir() + "/hale-aggregator", "command", "--config", rig.dir.file("aggregator.toml"),
                       "--region", "eu", "--node", "n1", "drill", check},
                      rig.dir.file("cli.log"));
  };
  REQUIRE(command("worker") == 0);
  json drill;
  REQUIRE(waitFor(
      [&] {
        for (const auto& e : rig.auditTail())
          if (e["actor"] == "drill") drill = e;
        return drill.is_object();
      },
      std::chrono::seconds(15)));
  CHECK(drill["outcome"] == "healed");
  const auto report = json::parse(drill["detail"].get<std::string>());
  CHECK(report["healed_by"] == "restart");
  CHECK(report["fault"].get<std::string>().find("SIGKILL") != std::string::npos);
  // Results go to the aggregator like any remediation.
  json items;
  REQUIRE(waitFor(
      [&] {
        const auto r = httpGet(rig.http_port, "/api/v1/remediations?node=n1");
        items = json::parse(r.body, nullptr, false);
        if (!items.is_object()) return false;
        for (const auto& it : items["remediations"])
          if (it["action"] == "drill") return true;
        return false;
      },
      std::chrono::seconds(15)));
  bool healed_restart = false, drill_healed = false;
  for (const auto& it : items["remediations"]) {
    healed_restart = healed_restart || (it["action"] == "restart" && it["outcome"] == "Healed");
    drill_healed = drill_healed || (it["action"] == "drill" && it["outcome"] == "Healed");
  }
  CHECK(healed_restart);
  CHECK(drill_healed);
  // A certificate is drilled with `hale-agent drill`, not through the daemon: refused and audited.
  REQUIRE(command("tls") == 0);
  REQUIRE(waitFor(
      [&] {
        for (const auto& e : rig.auditTail())
          if (e["outcome"] == "refused" &&
              e["detail"].get<std::string>().find("live targets only") != std::string::npos)
            return true;
        return false;
      },
      std::chrono::seconds(10)));
}
