#include "aggregator/api/api.h"
#include "aggregator/ingest/ingestor.h"
#include "aggregator/storage/store.h"
#include "shared/util/clock.h"
#include "shared/wire/envelope.h"
#include "shared/wire/topics.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace hale;
using namespace hale::aggregator;
using nlohmann::json;

namespace {
std::string batch(const std::string& node, const std::string& region, uint64_t seq, wire::CheckStatus status,
                  const std::string& check = "root") {
  wire::ResultRecord r;
  r.check = check;
  r.kind = "disk";
  r.status = status;
  r.component = wire::Component::Storage;
  r.message = "msg " + std::to_string(seq);
  r.metrics = {{"used_percent", 50.0 + double(seq)}};
  r.observed_at_ms = 1000 + static_cast<int64_t>(seq);
  const auto bytes = wire::buildCheckBatch({node, region, seq, 1}, std::span(&r, 1));
  return std::string(bytes.begin(), bytes.end());
}

struct Rig {
  test::FakeClock clock;
  test::TempDir dir;
  asio::io_context io;
  storage::Store store{dir.file("agg.db")};
  ingest::Ingestor ingestor{io, store, ingest::Settings{std::chrono::milliseconds(1), 1000}, clock};
  api::Api api{store, ingestor.counters(), [] { return true; }, options()};

  int64_t nowMs() const { return toUnixMillis(clock.wallNow()); }
  api::ApiOptions options() {
    api::ApiOptions o;
    o.clock = &clock;
    return o;
  }

  api::Response get(const std::string& target) { return api.handle({"GET", target, ""}); }
  json getJson(const std::string& target) { return json::parse(get(target).body); }
};
}  // namespace

TEST_CASE("ingest: stores exactly once per (node, seq) and keeps the latest result") {
  Rig rig;
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), batch("n1", "eu", 1, wire::CheckStatus::Ok));
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), batch("n1", "eu", 2, wire::CheckStatus::Crit));
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"),
                         batch("n1", "eu", 2, wire::CheckStatus::Crit));  // redelivery
  rig.ingestor.flush();
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"),
                         batch("n1", "eu", 1, wire::CheckStatus::Ok));  // late redelivery
  rig.ingestor.flush();
  CHECK(rig.ingestor.counters().stored == 2);
  CHECK(rig.ingestor.counters().duplicates == 2);
  const json node = rig.getJson("/api/v1/nodes/n1");
  CHECK(node["last_seq"] == 2);
  CHECK(node["messages"] == 2);
  CHECK(node["missing"] == 0);
  REQUIRE(node["results"].size() == 1);
  CHECK(node["results"][0]["status"] == "crit");  // seq 1 arrived late but is older
  CHECK(node["worst_status"] == "crit");
}

TEST_CASE("ingest: sequence gaps are visible per node") {
  Rig rig;
  for (uint64_t seq : {1, 2, 5})
    rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), batch("n1", "eu", seq, wire::CheckStatus::Ok));
  rig.ingestor.flush();
  CHECK(rig.getJson("/api/v1/nodes/n1")["missing"] == 2);
}

TEST_CASE("ingest: bad messages are counted, never stored, never fatal") {
  Rig rig;
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), "garbage");
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"),
                         batch("n2", "eu", 1, wire::CheckStatus::Ok));  // names another node
  rig.ingestor.onMessage("hale/v1/eu/n1/telemetry/extra", batch("n1", "eu", 1, wire::CheckStatus::Ok));
  rig.ingestor.onMessage("not/a/hale/topic", "x");
  rig.ingestor.onMessage(wire::statusTopic("eu", "n1"), "{not json");
  rig.ingestor.onMessage(wire::statusTopic("eu", "n1"), "{\"state\":\"sleeping\"}");
  rig.ingestor.flush();
  CHECK(rig.ingestor.counters().invalid == 6);
  CHECK(rig.ingestor.counters().stored == 0);
  CHECK(rig.getJson("/api/v1/nodes")["total"] == 0);
}

TEST_CASE("ingest: a node cannot move to another region") {
  Rig rig;
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), batch("n1", "eu", 1, wire::CheckStatus::Ok));
  rig.ingestor.flush();
  rig.ingestor.onMessage(wire::telemetryTopic("us", "n1"), batch("n1", "us", 2, wire::CheckStatus::Ok));
  rig.ingestor.flush();
  CHECK(rig.ingestor.counters().invalid == 1);
  CHECK(rig.getJson("/api/v1/nodes/n1")["region"] == "eu");
}

TEST_CASE("ingest: status messages set online and offline") {
  Rig rig;
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), batch("n1", "eu", 1, wire::CheckStatus::Ok));
  rig.ingestor.onMessage(wire::statusTopic("eu", "n1"), R"({"state":"online"})");
  CHECK(rig.getJson("/api/v1/nodes?status=online")["total"] == 1);
  rig.ingestor.onMessage(wire::statusTopic("eu", "n1"), R"({"state":"offline"})");
  CHECK(rig.getJson("/api/v1/nodes?status=online")["total"] == 0);
  CHECK(rig.getJson("/api/v1/nodes?status=offline")["nodes"][0]["node"] == "n1");
  rig.ingestor.onMessage(wire::statusTopic("eu", "n1"), "");  // retained message cleared: ignored
  CHECK(rig.ingestor.counters().invalid == 0);
}

TEST_CASE("api: listing filters and paginates") {
  Rig rig;
  for (int i = 0; i < 5; ++i) {
    const std::string node = "n" + std::to_string(i);
    const std::string region = i < 3 ? "eu" : "us";
    rig.ingestor.onMessage(wire::telemetryTopic(region, node), batch(node, region, 1, wire::CheckStatus::Ok));
  }
  rig.ingestor.flush();
  CHECK(rig.getJson("/api/v1/nodes")["total"] == 5);
  CHECK(rig.getJson("/api/v1/nodes?region=eu")["total"] == 3);
  const json page = rig.getJson("/api/v1/nodes?region=eu&limit=2&offset=2");
  CHECK(page["nodes"].size() == 1);
  CHECK(page["nodes"][0]["node"] == "n2");
}

TEST_CASE("api: errors are JSON with meaningful status codes") {
  Rig rig;
  CHECK(rig.get("/api/v1/nodes/nope").status == 404);
  CHECK(rig.get("/api/v1/nodes/bad%2Fid").status == 400);
  CHECK(rig.get("/api/v1/nodes?limit=0").status == 400);
  CHECK(rig.get("/api/v1/nodes?status=maybe").status == 400);
  CHECK(rig.get("/api/v1/nodes?region=%zz").status == 400);
  CHECK(rig.get("/nowhere").status == 404);
  CHECK(rig.api.handle({"POST", "/api/v1/nodes", "{}"}).status == 405);
  CHECK(rig.api.handle({"GET", "no-slash", ""}).status == 400);
  const json err = json::parse(rig.get("/api/v1/nodes/nope").body);
  CHECK(err["error"].get<std::string>().find("nope") != std::string::npos);
  CHECK(err["status"] == 404);
}

TEST_CASE("api: /health, /ready and /metrics") {
  Rig rig;
  CHECK(rig.get("/health").status == 200);
  CHECK(rig.get("/ready").status == 200);
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), "junk");
  const auto metrics = rig.get("/metrics");
  CHECK(metrics.content_type.find("text/plain") == 0);
  CHECK(metrics.body.find("hale_ingest_messages_total{outcome=\"invalid\"} 1") != std::string::npos);
  api::Api not_ready(rig.store, rig.ingestor.counters(), [] { return false; });
  CHECK(not_ready.handle({"GET", "/ready", ""}).status == 503);
}

TEST_CASE("api: request targets are split and percent-decoded") {
  auto q = api::parseTarget("/a%20b?x=1&y=two+words&z=%41&empty=");
  REQUIRE(q.has_value());
  CHECK(q->path == "/a b");
  CHECK(q->params["x"] == "1");
  CHECK(q->params["y"] == "two words");
  CHECK(q->params["z"] == "A");
  CHECK(q->params["empty"] == "");
  CHECK_FALSE(api::parseTarget("/x%").has_value());
  CHECK_FALSE(api::parseTarget("/x%4").has_value());
  CHECK_FALSE(api::parseTarget("").has_value());
}

namespace {
std::string issueEvent(const std::string& node, uint64_t seq, uint64_t id, wire::IssueState state, int64_t closed = 0) {
  wire::IssueRecord i;
  i.issue_id = id;
  i.check = "web";
  i.state = state;
  i.status = wire::CheckStatus::Crit;
  i.message = "web down";
  i.opened_at_ms = 100;
  i.closed_at_ms = closed;
  const auto bytes = wire::buildIssueEvent({node, "eu", seq, 1}, i);
  return std::string(bytes.begin(), bytes.end());
}
}  // namespace

TEST_CASE("ingest: issue events open and close issues and a replayed open does not reopen") {
  Rig rig;
  const auto topic = wire::telemetryTopic("eu", "n1");
  rig.ingestor.onMessage(topic, issueEvent("n1", 1, 1, wire::IssueState::Opened));
  rig.ingestor.flush();
  CHECK(rig.getJson("/api/v1/issues?state=open")["total"] == 1);
  CHECK(rig.getJson("/api/v1/nodes/n1")["open_issues"].size() == 1);
  rig.ingestor.onMessage(topic, issueEvent("n1", 3, 1, wire::IssueState::Closed, 500));
  rig.ingestor.onMessage(topic, issueEvent("n1", 2, 1, wire::IssueState::Updated));  // late
  rig.ingestor.flush();
  const json all = rig.getJson("/api/v1/issues?state=all");
  REQUIRE(all["total"] == 1);
  CHECK(all["issues"][0]["state"] == "closed");
  CHECK(all["issues"][0]["closed_at_ms"] == 500);
  CHECK(rig.getJson("/api/v1/issues?state=open")["total"] == 0);
  CHECK(rig.get("/api/v1/issues?state=maybe").status == 400);
  CHECK(rig.getJson("/api/v1/issues?node=n2")["total"] == 0);
}

namespace {
std::string heartbeat(const std::string& node, uint64_t seq, uint64_t outbox_first) {
  wire::HeartbeatRecord hb;
  hb.agent_version = "t";
  hb.interval_ms = 1000;
  hb.outbox_first_seq = outbox_first;
  const auto bytes = wire::buildHeartbeat({node, "eu", seq, 1}, hb);
  return std::string(bytes.begin(), bytes.end());
}
}  // namespace

TEST_CASE("ingest: the end-to-end ack is the highest contiguous committed seq") {
  Rig rig;
  std::vector<uint64_t> acks;
  rig.ingestor.onAck([&](const std::string& region, const std::string& node, uint64_t seq) {
    CHECK(region == "eu");
    CHECK(node == "n1");
    acks.push_back(seq);
  });
  const auto topic = wire::telemetryTopic("eu", "n1");
  for (uint64_t seq : {1, 2, 4}) rig.ingestor.onMessage(topic, batch("n1", "eu", seq, wire::CheckStatus::Ok));
  rig.ingestor.flush();
  REQUIRE(acks.size() == 1);
  CHECK(acks.back() == 2);  // 3 is missing
  rig.ingestor.onMessage(topic, batch("n1", "eu", 3, wire::CheckStatus::Ok));
  rig.ingestor.flush();
  CHECK(acks.back() == 4);
  rig.ingestor.onMessage(topic, batch("n1", "eu", 4, wire::CheckStatus::Ok));  // duplicate: no new ack
  rig.ingestor.flush();
  CHECK(acks.size() == 2);

  // Seqs 5 and 6 were evicted from the agent's full outbox; its heartbeat
  // (seq 11) says it still holds 7 and up, so the ack moves past the loss but
  // not past what is still on its way.
  rig.ingestor.onMessage(topic, batch("n1", "eu", 10, wire::CheckStatus::Ok));
  rig.ingestor.onMessage(topic, heartbeat("n1", 11, 7));
  rig.ingestor.flush();
  CHECK(acks.back() == 6);
  for (uint64_t seq : {7, 8, 9}) rig.ingestor.onMessage(topic, batch("n1", "eu", seq, wire::CheckStatus::Ok));
  rig.ingestor.flush();
  CHECK(acks.back() == 11);
  CHECK(rig.getJson("/api/v1/nodes/n1")["missing"] == 2);
  // A heartbeat sent with an empty outbox vouches for everything before it.
  rig.ingestor.onMessage(topic, heartbeat("n1", 20, 0));
  rig.ingestor.flush();
  CHECK(acks.back() == 20);
}

TEST_CASE("ingest: build events are stored once and summarised by category") {
  Rig rig;
  const auto topic = wire::telemetryTopic("eu", "n1");
  auto send = [&](uint64_t seq, uint32_t attempt, const std::string& category, int exit_code) {
    wire::BuildRecord b;
    b.build_id = 7;
    b.attempt = attempt;
    b.command = "npm ci";
    b.exit_code = exit_code;
    b.category = category;
    b.remedy = category == "network" ? "retry" : "none";
    b.evidence = {"line 3: ETIMEDOUT"};
    b.at_ms = rig.nowMs();
    const auto bytes = wire::buildBuildEvent({"n1", "eu", seq, 1}, b);
    rig.ingestor.onMessage(topic, std::string(bytes.begin(), bytes.end()));
  };
  send(1, 1, "network", 1);
  send(2, 2, "network", 1);
  send(2, 2, "network", 1);  // redelivered
  send(3, 3, "none", 0);     // the retry succeeded: not a failure
  rig.ingestor.flush();
  const json b = rig.getJson("/api/v1/builds");
  REQUIRE(b["categories"].size() == 1);
  CHECK(b["categories"][0]["category"] == "network");
  CHECK(b["categories"][0]["count"] == 2);
  CHECK(b["recent"].size() == 3);
  CHECK(b["recent"][0]["attempt"] == 3);
  CHECK(b["recent"][2]["evidence"][0] == "line 3: ETIMEDOUT");
  CHECK(rig.getJson("/api/v1/builds?category=network")["recent"].size() == 2);
  CHECK(rig.get("/api/v1/builds?window=1y").status == 400);
}

TEST_CASE("api: writes need the write token, are validated, rate-limited and become signed commands") {
  Rig rig;
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), batch("n1", "eu", 1, wire::CheckStatus::Ok));
  rig.ingestor.onMessage(wire::telemetryTopic("us", "n2"), batch("n2", "us", 1, wire::CheckStatus::Ok));
  rig.ingestor.flush();
  std::vector<wire::CommandSpec> sent;
  api::ApiOptions options;
  options.write_token = "write-token-0123456789";
  options.command_epoch = 9;
  options.send_command = [&](const wire::CommandSpec& spec) -> Status {
    sent.push_back(spec);
    return {};
  };
  options.clock = &rig.clock;
  api::Api api(
      rig.store, rig.ingestor.counters(), [] { return true; }, std::move(options));
  auto post = [&](const std::string& target, const std::string& body,
                  const std::string& auth = "Bearer write-token-0123456789") {
    return api.handle({"POST", target, body, auth});
  };

  CHECK(post("/api/v1/nodes/n1/remediate", R"({"check":"web"})", "").status == 401);
  CHECK(post("/api/v1/nodes/n1/remediate", R"({"check":"web"})", "Bearer wrong-token-0123456789").status == 401);
  CHECK(api.handle({"GET", "/api/v1/auto-remediation", "", ""}).status == 405);
  CHECK(post("/api/v1/nodes/n1/remediate", "{not json").status == 400);
  CHECK(post("/api/v1/nodes/n1/remediate", R"({"check":"a b"})").status == 400);
  CHECK(post("/api/v1/nodes/ghost/remediate", R"({"check":"web"})").status == 404);
  CHECK(post("/api/v1/nodes/n1/remediate", std::string(70 * 1024, ' ')).status == 413);
  CHECK(sent.empty());

  auto r = post("/api/v1/nodes/n1/remediate", R"({"check":"web"})");
  CHECK(r.status == 202);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].target_node == "n1");
  CHECK(sent[0].target_region == "eu");
  CHECK(sent[0].epoch == 9);
  CHECK(sent[0].expires_at_ms > sent[0].issued_at_ms);
  CHECK(std::get<wire::TriggerAction>(sent[0].action).check == "web");

  CHECK(post("/api/v1/remediations/17/approve", R"({"node":"n1"})").status == 202);
  CHECK(std::get<wire::ApproveAction>(sent.back().action).attempt_id == 17);
  CHECK(post("/api/v1/remediations/x/approve", R"({"node":"n1"})").status == 400);

  // Fleet-wide: one region-wide command per region.
  sent.clear();
  CHECK(post("/api/v1/auto-remediation", R"({"enabled":false})").status == 202);
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].target_node.empty());
  CHECK_FALSE(std::get<wire::AutoRemediationAction>(sent[0].action).enabled);
  CHECK(post("/api/v1/auto-remediation", R"({"enabled":true,"region":"mars"})").status == 404);
  CHECK(post("/api/v1/auto-remediation", R"({"region":"eu"})").status == 400);

  // The bucket holds 20 writes and refills 5 a second: a burst past it is refused with 429.
  api::ApiOptions limited_options;
  limited_options.write_token = "write-token-0123456789";
  limited_options.send_command = [](const wire::CommandSpec&) -> Status { return {}; };
  limited_options.clock = &rig.clock;
  api::Api limited(
      rig.store, rig.ingestor.counters(), [] { return true; }, std::move(limited_options));
  auto burst = [&](int n) {
    int accepted = 0;
    for (int i = 0; i < n; ++i) {
      const auto answer =
          limited.handle({"POST", "/api/v1/nodes/n1/remediate", R"({"check":"web"})", "Bearer write-token-0123456789"});
      if (answer.status == 202) ++accepted;
      if (answer.status == 429) CHECK(answer.headers.at(0) == std::pair<std::string, std::string>{"Retry-After", "1"});
    }
    return accepted;
  };
  CHECK(burst(25) == 20);
  rig.clock.advance(std::chrono::seconds(1));
  CHECK(burst(10) == 5);

  api::Api no_writes(rig.store, rig.ingestor.counters(), [] { return true; });
  CHECK(no_writes.handle({"POST", "/api/v1/nodes/n1/remediate", "{}", "Bearer x"}).status == 403);
}

TEST_CASE("ingest: remediation decisions are stored once, listed per node, and give a success rate") {
  Rig rig;
  const auto topic = wire::telemetryTopic("eu", "n1");
  auto send = [&](uint64_t seq, wire::RemediationOutcome outcome) {
    wire::RemediationRecord r;
    r.attempt_id = seq;
    r.issue_id = 1;
    r.check = "web";
    r.action = "restart";
    r.outcome = outcome;
    r.reason = "exit 0";
    r.at_ms = rig.nowMs();
    const auto bytes = wire::buildRemediationEvent({"n1", "eu", seq, 1}, r);
    rig.ingestor.onMessage(topic, std::string(bytes.begin(), bytes.end()));
  };
  send(1, wire::RemediationOutcome::Executed);
  send(2, wire::RemediationOutcome::NotHealed);
  send(3, wire::RemediationOutcome::Healed);
  send(4, wire::RemediationOutcome::Healed);
  send(4, wire::RemediationOutcome::Healed);  // redelivered
  rig.ingestor.flush();
  const json all = rig.getJson("/api/v1/remediations");
  CHECK(all["remediations"].size() == 4);
  CHECK(all["remediations"][0]["outcome"] == "Healed");
  CHECK(all["success_rate_7d"].get<double>() == doctest::Approx(2.0 / 3.0));
  CHECK(rig.getJson("/api/v1/remediations?outcome=Healed")["remediations"].size() == 2);
  CHECK(rig.getJson("/api/v1/nodes/n1")["recent_remediations"].size() == 4);
  CHECK(rig.get("/api/v1/remediations?node=a%20b").status == 400);
}

TEST_CASE("ingest: /metrics has the sent-to-committed latency histogram") {
  Rig rig;
  auto at = [](uint64_t seq, int64_t sent_ms) {
    wire::ResultRecord r;
    r.check = "root";
    r.kind = "disk";
    const auto bytes = wire::buildCheckBatch({"n1", "eu", seq, sent_ms}, std::span(&r, 1));
    return std::string(bytes.begin(), bytes.end());
  };
  const int64_t now = rig.nowMs();
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), at(1, now));           // 0 ms
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), at(2, now - 3'000));   // 3 s
  rig.ingestor.onMessage(wire::telemetryTopic("eu", "n1"), at(3, now + 60'000));  // agent clock ahead: 0
  rig.ingestor.flush();
  const std::string body = rig.get("/metrics").body;
  CHECK(body.find("# TYPE hale_ingest_latency_seconds histogram") != std::string::npos);
  CHECK(body.find("hale_ingest_latency_seconds_bucket{le=\"0.5\"} 2\n") != std::string::npos);
  CHECK(body.find("hale_ingest_latency_seconds_bucket{le=\"2.5\"} 2\n") != std::string::npos);
  CHECK(body.find("hale_ingest_latency_seconds_bucket{le=\"5\"} 3\n") != std::string::npos);
  CHECK(body.find("hale_ingest_latency_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(body.find("hale_ingest_latency_seconds_count 3\n") != std::string::npos);
}
