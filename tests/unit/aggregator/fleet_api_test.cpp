// Health resources of the API through the Rig pattern: real ingest and SQLite,
// routing without a socket. The fleet of every case:
//   n1 eu  online, all checks ok                  -> 100
//   n2 eu  online, one open crit issue (storage)  -> 60
//   n3 us  offline                                -> 0
// eu = (100 + 60) / 2 = 80.0 yellow, us = 0 red, fleet = 160 / 3 = 53.3 red.
#include "aggregator/api/api.h"
#include "aggregator/api/auth.h"
#include "aggregator/health/snapshots.h"
#include "aggregator/ingest/ingestor.h"
#include "aggregator/storage/store.h"
#include "shared/crypto/crypto.h"
#include "shared/sqlite/database.h"
#include "shared/util/clock.h"
#include "shared/wire/envelope.h"
#include "shared/wire/topics.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cctype>

using namespace hale;
using namespace hale::aggregator;
using nlohmann::json;

namespace {
constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;

std::string bytes(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

std::string result(const std::string& node, const std::string& region, uint64_t seq, wire::CheckStatus status,
                   int64_t observed_at_ms) {
  wire::ResultRecord r;
  r.check = "root";
  r.kind = "disk";
  r.status = status;
  r.component = wire::Component::Storage;
  r.message = "disk";
  r.observed_at_ms = observed_at_ms;
  return bytes(wire::buildCheckBatch({node, region, seq, observed_at_ms}, std::span(&r, 1)));
}

std::string issue(const std::string& node, const std::string& region, uint64_t seq, uint64_t id, int64_t opened,
                  int64_t closed = 0, wire::CheckStatus severity = wire::CheckStatus::Crit) {
  wire::IssueRecord i;
  i.issue_id = id;
  i.check = "root";
  i.state = closed ? wire::IssueState::Closed : wire::IssueState::Opened;
  i.status = severity;
  i.severity = severity;
  i.component = wire::Component::Storage;
  i.message = "disk full";
  i.opened_at_ms = opened;
  i.closed_at_ms = closed;
  return bytes(wire::buildIssueEvent({node, region, seq, opened}, i));
}

std::string remediation(const std::string& node, const std::string& region, uint64_t seq, uint64_t issue_id,
                        wire::RemediationOutcome outcome, int64_t at_ms) {
  wire::RemediationRecord r;
  r.attempt_id = seq;
  r.issue_id = issue_id;
  r.check = "root";
  r.action = "clean";
  r.outcome = outcome;
  r.at_ms = at_ms;
  return bytes(wire::buildRemediationEvent({node, region, seq, at_ms}, r));
}

struct Rig {
  test::FakeClock clock;
  test::TempDir dir;
  asio::io_context io;
  storage::Store store{dir.file("agg.db")};
  ingest::Ingestor ingestor{io, store, ingest::Settings{std::chrono::milliseconds(1), 1000}, clock};
  health::SnapshotCounters snapshot_counters;
  std::unique_ptr<api::Api> api;
  int64_t now = toUnixMillis(clock.wallNow());

  explicit Rig(std::optional<std::string> token = std::nullopt) {
    api::ApiOptions options;
    options.read_token = token;
    options.snapshot_counters = &snapshot_counters;
    options.clock = &clock;
    api = std::make_unique<api::Api>(
        store, ingestor.counters(), [] { return true; }, std::move(options));
  }

  void send(const std::string& region, const std::string& node, const std::string& payload) {
    ingestor.onMessage(wire::telemetryTopic(region, node), payload);
  }
  void status(const std::string& region, const std::string& node, bool online) {
    ingestor.onMessage(wire::statusTopic(region, node), online ? R"({"state":"online"})" : R"({"state":"offline"})");
  }

  void exampleFleet() {
    send("eu", "n1", result("n1", "eu", 1, wire::CheckStatus::Ok, now));
    send("eu", "n2", result("n2", "eu", 1, wire::CheckStatus::Crit, now));
    send("eu", "n2", issue("n2", "eu", 2, 1, now - 2 * kHourMs));
    send("us", "n3", result("n3", "us", 1, wire::CheckStatus::Ok, now));
    ingestor.flush();
    status("eu", "n1", true);
    status("eu", "n2", true);
    status("us", "n3", false);
  }

  api::Response get(const std::string& target, const std::string& authorization = "") {
    return api->handle({"GET", target, "", authorization});
  }
  json getJson(const std::string& target) {
    const auto r = get(target);
    INFO(target, " -> ", r.status, " ", r.body);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }
};
}  // namespace

TEST_CASE("fleet_api: fleet/health gives score, band, components, regions and counts") {
  Rig rig;
  rig.exampleFleet();
  const json h = rig.getJson("/api/v1/fleet/health");
  CHECK(h["score"] == 53.3);
  CHECK(h["band"] == "red");
  CHECK(h["components"]["storage"] == 53.3);  // (100 + 60 + 0) / 3
  CHECK(h["components"]["compute"] == 66.7);  // (100 + 100 + 0) / 3
  CHECK(h["counts"]["nodes"] == 3);
  CHECK(h["counts"]["online"] == 2);
  CHECK(h["counts"]["offline"] == 1);
  CHECK(h["counts"]["green"] == 1);
  CHECK(h["counts"]["red"] == 2);
  CHECK(h["open_issues"]["crit"] == 1);
  CHECK(h["open_issues"]["total"] == 1);
  REQUIRE(h["regions"].size() == 2);
  CHECK(h["regions"][0]["region"] == "eu");
  CHECK(h["regions"][0]["score"] == 80.0);
  CHECK(h["regions"][0]["band"] == "yellow");
  CHECK(h["regions"][1]["region"] == "us");
  CHECK(h["regions"][1]["score"] == 0.0);
}

TEST_CASE("fleet_api: an empty fleet has a null score") {
  Rig rig;
  const json h = rig.getJson("/api/v1/fleet/health");
  CHECK(h["score"].is_null());
  CHECK(h["band"].is_null());
  CHECK(h["counts"]["nodes"] == 0);
  CHECK(rig.getJson("/api/v1/regions")["total"] == 0);
}

TEST_CASE("fleet_api: regions and regions/{r} with nodes and trend") {
  Rig rig;
  rig.exampleFleet();
  const json list = rig.getJson("/api/v1/regions");
  CHECK(list["total"] == 2);
  CHECK(list["regions"][1]["counts"]["offline"] == 1);

  health::takeSnapshot(rig.store, health::Params{}, health::SnapshotSettings{}, rig.now, rig.snapshot_counters);
  const json eu = rig.getJson("/api/v1/regions/eu");
  CHECK(eu["region"] == "eu");
  CHECK(eu["score"] == 80.0);
  CHECK(eu["components"]["storage"] == 80.0);  // (100 + 60) / 2
  REQUIRE(eu["nodes"].size() == 2);
  CHECK(eu["nodes"][1]["node"] == "n2");
  CHECK(eu["nodes"][1]["score"] == 60.0);
  CHECK(eu["nodes"][1]["band"] == "red");
  CHECK(eu["nodes"][1]["liveness"] == "online");
  CHECK(eu["nodes"][1]["open_issues"]["crit"] == 1);
  CHECK(eu["trend"]["window"] == "24h");
  REQUIRE(eu["trend"]["points"].size() == 1);
  CHECK(eu["trend"]["points"][0]["score"] == 80.0);

  CHECK(rig.get("/api/v1/regions/mars").status == 404);
  CHECK(json::parse(rig.get("/api/v1/regions/mars").body)["error"] == "no region 'mars'");
  CHECK(rig.get("/api/v1/regions/bad%2Fname").status == 400);
  CHECK(rig.api->handle({"POST", "/api/v1/regions", "", ""}).status == 405);
  CHECK(rig.api->handle({"POST", "/api/v1/fleet/health", "", ""}).status == 405);
  CHECK(rig.api->handle({"DELETE", "/api/v1/statistics", "", ""}).status == 405);
  CHECK(rig.get("/api/v1/regionsx").status == 404);
}

TEST_CASE("fleet_api: fleet/trend buckets snapshots per window") {
  Rig rig;
  rig.exampleFleet();
  health::SnapshotSettings settings;
  // Two snapshots in one 5-minute bucket average out; one 2 days ago is only in the 7d window.
  health::takeSnapshot(rig.store, health::Params{}, settings, rig.now - 2 * kDayMs, rig.snapshot_counters);
  rig.status("eu", "n2", false);  // fleet: (100 + 0 + 0) / 3 = 33.3
  const int64_t bucket_start = (rig.now / 300'000) * 300'000;
  health::takeSnapshot(rig.store, health::Params{}, settings, bucket_start, rig.snapshot_counters);
  rig.status("eu", "n2", true);  // back to 53.3
  health::takeSnapshot(rig.store, health::Params{}, settings, bucket_start + 1000, rig.snapshot_counters);
  CHECK(rig.snapshot_counters.snapshots == 3);

  const json day = rig.getJson("/api/v1/fleet/trend?window=24h");
  CHECK(day["bucket_ms"] == 300'000);
  REQUIRE(day["points"].size() == 1);
  CHECK(day["points"][0]["at_ms"] == bucket_start);
  CHECK(day["points"][0]["score"] == 43.3);  // (33.3 + 53.3) / 2
  CHECK(day["points"][0]["min_score"] == 33.3);
  CHECK(day["points"][0]["samples"] == 2);
  const json week = rig.getJson("/api/v1/fleet/trend?window=7d");
  CHECK(week["bucket_ms"] == 3'600'000);
  CHECK(week["points"].size() == 2);
  CHECK(rig.getJson("/api/v1/fleet/trend")["window"] == "24h");
  CHECK(rig.getJson("/api/v1/fleet/trend?window=24h&region=eu")["points"].size() == 1);
  CHECK(rig.get("/api/v1/fleet/trend?window=1y").status == 400);
  CHECK(rig.get("/api/v1/fleet/trend?region=a%2Fb").status == 400);
}

TEST_CASE("fleet_api: statistics split repair times by whether Hale healed the issue") {
  Rig rig;
  rig.exampleFleet();
  // n1 issue 1: healed by a remediation after 10 min; issue 2: closed by someone after 2 h;
  // issue 3, closed 30 h ago after 4 h, falls in the window before the last 24 h.
  rig.send("eu", "n1", issue("n1", "eu", 2, 1, rig.now - 3 * kHourMs, rig.now - 3 * kHourMs + 600'000));
  rig.send("eu", "n1", remediation("n1", "eu", 3, 1, wire::RemediationOutcome::Fired, rig.now - 3 * kHourMs + 1000));
  rig.send("eu", "n1",
           remediation("n1", "eu", 4, 1, wire::RemediationOutcome::NotHealed, rig.now - 3 * kHourMs + 2000));
  rig.send("eu", "n1", remediation("n1", "eu", 5, 1, wire::RemediationOutcome::Healed, rig.now - 3 * kHourMs + 3000));
  rig.send("eu", "n1", issue("n1", "eu", 6, 2, rig.now - 5 * kHourMs, rig.now - 3 * kHourMs));
  rig.send("eu", "n1", issue("n1", "eu", 7, 3, rig.now - 34 * kHourMs, rig.now - 30 * kHourMs));
  rig.ingestor.flush();

  const json day = rig.getJson("/api/v1/statistics?window=24h");
  CHECK(day["remediations"]["outcomes"]["Healed"] == 1);
  CHECK(day["remediations"]["outcomes"]["Fired"] == 1);
  CHECK(day["remediations"]["verified"] == 2);  // healed + not healed; "fired" is no verdict
  CHECK(day["remediations"]["success_rate"] == doctest::Approx(0.5));
  CHECK(day["mttr_ms"]["remediated"] == 600'000);
  CHECK(day["mttr_ms"]["remediated_count"] == 1);
  CHECK(day["mttr_ms"]["other"] == 2 * kHourMs);
  CHECK(day["mttr_ms"]["previous_window"] == 4 * kHourMs);
  CHECK_FALSE(rig.getJson("/api/v1/statistics?window=all")["mttr_ms"].contains("previous_window"));
}

TEST_CASE("fleet_api: statistics count issues and the mean time to repair") {
  Rig rig;
  rig.exampleFleet();  // n2: issue 1 opened 2 h ago, still open
  // n1: opened 3 h ago, closed after 1 h; opened 30 h ago, closed after 3 h (outside 24h).
  rig.send("eu", "n1", issue("n1", "eu", 2, 1, rig.now - 3 * kHourMs, rig.now - 2 * kHourMs, wire::CheckStatus::Warn));
  rig.send("eu", "n1", issue("n1", "eu", 3, 2, rig.now - 30 * kHourMs, rig.now - 27 * kHourMs));
  rig.ingestor.flush();

  const json day = rig.getJson("/api/v1/statistics?window=24h");
  CHECK(day["window"] == "24h");
  CHECK(day["issues"]["opened"] == 2);
  CHECK(day["issues"]["closed"] == 1);
  CHECK(day["issues"]["open"] == 1);
  CHECK(day["issues"]["mttr_ms"] == kHourMs);
  CHECK(day["by_severity"]["warn"]["closed"] == 1);
  CHECK(day["by_severity"]["crit"]["mttr_ms"].is_null());
  CHECK(day["by_component"]["storage"]["opened"] == 2);
  CHECK(day["by_region"]["eu"]["open"] == 1);

  const json all = rig.getJson("/api/v1/statistics?window=all");
  CHECK(all["issues"]["opened"] == 3);
  CHECK(all["issues"]["closed"] == 2);
  CHECK(all["issues"]["mttr_ms"] == 2 * kHourMs);  // (1 h + 3 h) / 2
  CHECK(rig.getJson("/api/v1/statistics")["window"] == "7d");
  CHECK(rig.get("/api/v1/statistics?window=forever").status == 400);
  // Nothing was remediated: every repair counts as "other".
  CHECK(day["remediations"]["success_rate"].is_null());
  CHECK(day["mttr_ms"]["other"] == kHourMs);
  CHECK(day["mttr_ms"]["remediated"].is_null());
  // Closed issues no longer weigh on the score: n1 stays at 100.
  const json h = rig.getJson("/api/v1/fleet/health");
  CHECK(h["open_issues"]["crit"] == 1);
  CHECK(h["open_issues"]["warn"] == 0);
  CHECK(h["score"] == 53.3);
}

TEST_CASE("fleet_api: node listing and detail carry scores") {
  Rig rig;
  rig.exampleFleet();
  const json list = rig.getJson("/api/v1/nodes");
  REQUIRE(list["nodes"].size() == 3);
  CHECK(list["nodes"][1]["node"] == "n2");
  CHECK(list["nodes"][1]["score"] == 60.0);
  CHECK(list["nodes"][1]["band"] == "red");
  const json n1 = rig.getJson("/api/v1/nodes/n1");
  CHECK(n1["score"] == 100.0);
  CHECK(n1["band"] == "green");
  CHECK(n1["liveness"] == "online");
  CHECK(n1["components"]["storage"] == 100.0);
}

TEST_CASE("fleet_api: retention prunes raw results but keeps the latest and the snapshots") {
  Rig rig;
  rig.send("eu", "n1", result("n1", "eu", 1, wire::CheckStatus::Ok, rig.now - 8 * kDayMs));
  rig.send("eu", "n1", result("n1", "eu", 2, wire::CheckStatus::Ok, rig.now - 6 * kDayMs));
  rig.ingestor.flush();
  rig.status("eu", "n1", true);
  // The test reads the file through its own connection: the store has no SQL escape.
  sqlite::Database db(rig.dir.file("agg.db"));
  auto count = [&](const char* sql) {
    sqlite::Statement s(db, sql);
    return s.step() ? s.int64(0) : -1;
  };
  // An old snapshot inside (89 d) and outside (91 d) the 90 d snapshot retention.
  storage::SnapshotRow row;
  row.score = 100;
  const std::vector<storage::SnapshotRow> rows{row};
  rig.store.snapshots().insert(rig.now - 91 * kDayMs, rows);
  rig.store.snapshots().insert(rig.now - 89 * kDayMs, rows);
  CHECK(count("SELECT count(*) FROM check_results") == 2);

  health::takeSnapshot(rig.store, health::Params{}, health::SnapshotSettings{}, rig.now, rig.snapshot_counters);
  CHECK(count("SELECT count(*) FROM check_results") == 1);
  CHECK(count("SELECT count(*) FROM latest_results") == 1);
  CHECK(rig.snapshot_counters.pruned_results == 1);
  CHECK(rig.snapshot_counters.pruned_snapshots == 1);
  CHECK(rig.store.snapshots().count() == 3);  // 89 d old + fleet + region eu now
  // The latest result is 6 days old: stale (10 min), so n1 scores 100 - 10 = 90.
  CHECK(rig.getJson("/api/v1/fleet/health")["score"] == 90.0);
}

TEST_CASE("fleet_api: /metrics has scores, issues and node counts") {
  Rig rig;
  rig.exampleFleet();
  health::takeSnapshot(rig.store, health::Params{}, health::SnapshotSettings{}, rig.now, rig.snapshot_counters);
  const std::string m = rig.get("/metrics").body;
  for (const char* line :
       {"hale_fleet_health_score 53.3\n", "hale_fleet_component_health_score{component=\"storage\"} 53.3\n",
        "hale_region_health_score{region=\"eu\"} 80\n",
        "hale_region_component_health_score{region=\"eu\",component=\"storage\"} 80\n",
        "hale_node_health_score{region=\"eu\",node=\"n2\"} 60\n",
        "hale_open_issues{region=\"eu\",severity=\"crit\"} 1\n",
        "hale_open_issues{region=\"us\",severity=\"warn\"} 0\n", "hale_nodes{state=\"online\"} 2\n",
        "hale_nodes{state=\"offline\"} 1\n", "hale_region_nodes{region=\"us\",state=\"offline\"} 1\n",
        "hale_nodes_by_band{band=\"red\"} 2\n", "hale_health_snapshots_total 1\n",
        "# TYPE hale_node_health_score gauge\n"}) {
    INFO(line);
    CHECK(m.find(line) != std::string::npos);
  }
}

TEST_CASE("fleet_api: a read token guards every read but /health, /ready and the page") {
  const std::string token = "s3cret-token-0123456789";
  Rig rig(token);
  rig.exampleFleet();
  for (const char* path : {"/api/v1/fleet/health", "/api/v1/regions", "/api/v1/nodes", "/metrics", "/api/v1/statistics",
                           "/api/v1/fleet/trend"}) {
    INFO(path);
    const auto missing = rig.get(path);
    CHECK(missing.status == 401);
    CHECK(json::parse(missing.body)["error"] == "this resource needs a bearer token");
    REQUIRE(missing.headers.size() == 1);
    CHECK(missing.headers[0].first == "WWW-Authenticate");
    CHECK(rig.get(path, "Bearer wrong-token-0123456789").status == 401);
    CHECK(rig.get(path, "Bearer " + token.substr(0, token.size() - 1)).status == 401);
    CHECK(rig.get(path, "Basic " + token).status == 401);
    CHECK(rig.get(path, "Bearer " + token).status == 200);
    CHECK(rig.get(path, "bearer  " + token).status == 200);
  }
  CHECK(rig.get("/health").status == 200);
  CHECK(rig.get("/ready").status == 200);
  CHECK(rig.get("/").status == 200);
  CHECK(rig.get("/dashboard").status == 200);
}

TEST_CASE("fleet_api: bearer tokens compare in constant time") {
  CHECK(crypto::constantTimeEqual("abc", "abc"));
  CHECK_FALSE(crypto::constantTimeEqual("abc", "abd"));
  CHECK_FALSE(crypto::constantTimeEqual("abc", "abcd"));
  CHECK_FALSE(crypto::constantTimeEqual("", "a"));
  CHECK(api::bearerMatches("Bearer tok", "tok"));
  CHECK_FALSE(api::bearerMatches("Bearer ", ""));
  CHECK_FALSE(api::bearerMatches("Bearertok", "tok"));
}

TEST_CASE("fleet_api: the dashboard page is served, self-contained") {
  Rig rig;
  for (const char* path : {"/", "/dashboard"}) {
    const auto page = rig.get(path);
    CHECK(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.body.find("id=\"fleet-gauge\"") != std::string::npos);
    CHECK(page.body.find("/api/v1/fleet/health") != std::string::npos);
    // Nothing from the internet: no external scripts, styles or fonts.
    CHECK(page.body.find("http://") == page.body.find("http://www.w3.org/2000/svg"));
    CHECK(page.body.find("https://") == std::string::npos);
  }
  CHECK(rig.api->handle({"POST", "/", "", ""}).status == 405);
}

TEST_CASE("fleet_api: every metric the shipped Grafana dashboard queries is exported") {
  Rig rig;
  rig.exampleFleet();
  const std::string metrics = rig.get("/metrics").body;
  const json dash = json::parse(test::readFile(test::sourceDir() + "/packaging/grafana/hale-dashboard.json"));
  size_t queried = 0;
  for (const auto& panel : dash["panels"]) {
    for (const auto& target : panel["targets"]) {
      const std::string expr = target["expr"];
      for (size_t at = expr.find("hale_"); at != std::string::npos; at = expr.find("hale_", at + 1)) {
        size_t end = at;
        while (end < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[end])) || expr[end] == '_')) ++end;
        const std::string name = expr.substr(at, end - at);
        INFO(panel["title"].get<std::string>(), ": ", name);
        CHECK(metrics.find("# TYPE " + name + " ") != std::string::npos);
        ++queried;
        at = end;
      }
    }
  }
  CHECK(queried >= 10);
}
