// The fleet view end to end: a real Mosquitto with mutual TLS, the real
// aggregator and agents (one healthy, one with a failing check that opens a
// crit issue, one stopped), then
//  - `promtool check metrics` on a live /metrics scrape, and
//  - the dashboard page in Debian's headless Chromium: the numbers it renders
//    must equal the API's, and a screenshot is kept under the build tree.
// Each tool is skipped with a message when absent; scripts/deps.sh installs both.
#include "tests/support/harness.h"
#include "tests/support/skip.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <filesystem>
#include <map>
#include <thread>

using namespace hale::test;
using nlohmann::json;

namespace {

struct Fleet {
  TempDir dir;
  std::string pki = makePki(dir, {"healthy", "failing", "gone"});
  Broker broker{dir, pki};
  uint16_t http_port = freePort();
  std::optional<Process> aggregator;
  std::map<std::string, std::unique_ptr<Process>> agents;
  bool failover = false;  ///< the aggregator coordinates eu-west (preferred) and us-east
  bool stop_gone = true;  ///< stop "gone" once it reported, so the fleet has an offline node

  std::string mqttSection(const std::string& identity) const {
    return fmt::format(
        "[mqtt]\nurl = \"{}\"\nca_file = \"{}/ca.crt\"\ncert_file = \"{}/{}.crt\"\n"
        "key_file = \"{}/{}.key\"\nreconnect_min = \"100ms\"\nreconnect_max = \"1s\"\n",
        broker.url(), pki, pki, identity, pki, identity);
  }

  void startAggregator() {
    const std::string cfg = dir.file("aggregator.toml");
    std::string regions;
    if (failover) {
      REQUIRE(runCommand({binaryDir() + "/hale-aggregator", "keygen", dir.file("keys")}, dir.file("keygen.log")) == 0);
      // A threshold no score goes below and an hour of dwell: nothing switches during the test.
      regions = fmt::format("[commands]\nsigning_key_file = \"{}\"\n", dir.file("keys/command-signing.key"));
      for (const auto& [name, prio] : {std::pair{"eu-west", 1}, std::pair{"us-east", 2}})
        regions += fmt::format(
            "[[region]]\nname = \"{}\"\npriority = {}\nthreshold = 5\nwindow = \"1s\"\n"
            "min_dwell = \"1h\"\n",
            name, prio);
    }
    writeFile(cfg, fmt::format("[aggregator]\ndatabase = \"{}\"\nbatch_interval = \"20ms\"\n"
                               "snapshot_interval = \"300ms\"\n[http]\nlisten = \"127.0.0.1:{}\"\n",
                               dir.file("aggregator.db"), http_port) +
                       mqttSection("aggregator") + regions);
    aggregator.emplace(std::vector<std::string>{binaryDir() + "/hale-aggregator", "run", "--config", cfg},
                       dir.file("aggregator.log"));
    // Ready means connected to the broker and subscribing: messages an agent
    // publishes before the aggregator's first subscription have no one to go to.
    REQUIRE(waitFor([&] { return httpGet(http_port, "/ready").status == 200; }, std::chrono::seconds(10)));
  }

  void startAgent(const std::string& node, const std::string& region, bool failing) {
    const std::string cfg = dir.file(node + ".toml");
    std::string checks = fmt::format(
        "[[check]]\nname = \"tmp-disk\"\nkind = \"disk\"\npath = \"{}\"\n"
        "interval = \"500ms\"\nwarn_percent = 99\ncrit_percent = 100\n"
        "inodes_warn_percent = 99\ninodes_crit_percent = 100\n",
        dir.path());
    if (failing)
      checks +=
          "[[check]]\nname = \"ci-daemon\"\nkind = \"process\"\nmatch_name = \"hale-no-such-daemon\"\n"
          "interval = \"300ms\"\nfail_after = 1\nseverity = \"crit\"\n";
    writeFile(cfg, fmt::format("[agent]\nnode = \"{}\"\nregion = \"{}\"\nstate_dir = \"{}\"\n"
                               "heartbeat_interval = \"1s\"\nbatch_interval = \"50ms\"\n",
                               node, region, dir.file(node + "-state")) +
                       mqttSection("node-" + node) + checks);
    agents[node] = std::make_unique<Process>(
        std::vector<std::string>{binaryDir() + "/hale-agent", "run", "--config", cfg}, dir.file(node + ".log"));
  }

  json get(const std::string& target) {
    auto r = httpGet(http_port, target);
    auto j = json::parse(r.body, nullptr, false);
    return r.status == 200 && !j.is_discarded() ? j : json::object();
  }

  /// healthy and failing online with their results in, the failing one's issue
  /// open, gone offline, and at least two snapshots for the trend.
  void startAndSettle() {
    startAggregator();
    startAgent("healthy", "eu-west", false);
    startAgent("failing", "eu-west", true);
    startAgent("gone", "us-east", false);
    REQUIRE(waitFor([&] { return get("/api/v1/nodes/gone").value("checks", 0) == 1; }, std::chrono::seconds(20)));
    if (stop_gone) REQUIRE(agents["gone"]->stop(SIGTERM).has_value());
    const int offline = stop_gone ? 1 : 0;
    json last;
    const bool settled = waitFor(
        [&] {
          last = get("/api/v1/fleet/health");
          return last.contains("counts") && last["counts"]["online"] == 3 - offline &&
                 last["counts"]["offline"] == offline && last["open_issues"]["crit"] == 1 &&
                 get("/api/v1/nodes/healthy").value("checks", 0) == 1;
        },
        std::chrono::seconds(20));
    INFO("fleet/health: ", last.dump());
    INFO("nodes: ", get("/api/v1/nodes").dump());
    REQUIRE(settled);
    REQUIRE(waitFor([&] { return get("/api/v1/fleet/trend").value("points", json::array()).size() >= 1; },
                    std::chrono::seconds(10)));
  }
};

std::string artifactDir() {
  const std::string d = binaryDir() + "/test-artifacts";
  std::filesystem::create_directories(d);
  return d;
}

// Debian's Chromium, headless, with nothing that would reach the internet.
std::vector<std::string> chromium(const TempDir& dir, std::vector<std::string> mode, const std::string& url) {
  std::vector<std::string> argv = {"chromium",
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--no-first-run",
                                   "--hide-scrollbars",
                                   "--user-data-dir=" + dir.file("chromium-profile"),
                                   "--virtual-time-budget=5000"};
  argv.insert(argv.end(), mode.begin(), mode.end());
  argv.push_back(url);
  return argv;
}

/// Runs argv with stdout to `out` and stderr to `err` (Chromium prints the DOM on stdout).
int runTo(const std::vector<std::string>& argv, const std::string& out, const std::string& err) {
  std::vector<std::string> sh = {"/bin/sh", "-c", "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"",
                                 "sh",      out,  err};
  sh.insert(sh.end(), argv.begin(), argv.end());
  return runCommand(sh);
}

/// The text of the element with this id in a serialized DOM; nullopt when absent.
std::optional<std::string> textById(const std::string& dom, const std::string& id) {
  const std::string key = "id=\"" + id + "\"";
  const size_t at = dom.find(key);
  if (at == std::string::npos) return std::nullopt;
  const size_t open = dom.find('>', at);
  const size_t close = dom.find('<', open);
  if (open == std::string::npos || close == std::string::npos) return std::nullopt;
  return dom.substr(open + 1, close - open - 1);
}

std::string oneDecimal(const json& v) { return v.is_null() ? "\u2013" : fmt::format("{:.1f}", v.get<double>()); }

}  // namespace

TEST_CASE("dashboard: promtool accepts a live /metrics scrape") {
  if (!requireTool("promtool", "prometheus")) return;
  Fleet fleet;
  fleet.startAndSettle();
  const auto scrape = httpGet(fleet.http_port, "/metrics");
  REQUIRE(scrape.status == 200);
  CHECK(scrape.body.find("hale_fleet_health_score ") != std::string::npos);
  CHECK(scrape.body.find("hale_node_health_score{region=\"eu-west\",node=\"failing\"} 60") != std::string::npos);
  CHECK(scrape.body.find("hale_open_issues{region=\"eu-west\",severity=\"crit\"} 1") != std::string::npos);
  const std::string file = fleet.dir.file("metrics.txt");
  writeFile(file, scrape.body);
  const std::string log = fleet.dir.file("promtool.log");
  const int rc = runCommand({"/bin/sh", "-c", "promtool check metrics < " + file}, log);
  INFO("promtool: ", readFile(log));
  CHECK(rc == 0);
}

TEST_CASE("dashboard: headless Chromium renders the API's numbers, and a screenshot is kept") {
  if (!requireTool("chromium", "chromium")) return;
  Fleet fleet;
  fleet.startAndSettle();
  const std::string url = fmt::format("http://127.0.0.1:{}/", fleet.http_port);

  // The fleet is settled, but a check could still flip between our API read and
  // the page's: compare against an API view that did not change around the load.
  std::string dom;
  json fleet_health, nodes;
  for (int attempt = 0; attempt < 3; ++attempt) {
    fleet_health = fleet.get("/api/v1/fleet/health");
    nodes = fleet.get("/api/v1/nodes");
    const int rc =
        runTo(chromium(fleet.dir, {"--dump-dom"}, url), fleet.dir.file("dom.html"), fleet.dir.file("chromium-dom.log"));
    INFO("chromium: ", readFile(fleet.dir.file("chromium-dom.log")).substr(0, 2000));
    REQUIRE(rc == 0);
    dom = readFile(fleet.dir.file("dom.html"));
    if (fleet.get("/api/v1/fleet/health") == fleet_health && fleet.get("/api/v1/nodes")["nodes"] == nodes["nodes"])
      break;
  }
  INFO("DOM: ", dom.substr(0, 4000));
  REQUIRE(dom.find("data-loaded=\"1\"") != std::string::npos);  // the first refresh completed

  CHECK(textById(dom, "fleet-score") == oneDecimal(fleet_health["score"]));
  CHECK(textById(dom, "fleet-band") == fleet_health["band"].get<std::string>());
  for (const char* c : {"compute", "storage", "network", "security", "builds"})
    CHECK(textById(dom, std::string("fleet-component-") + c) == oneDecimal(fleet_health["components"][c]));
  CHECK(textById(dom, "count-nodes") == "3");
  CHECK(textById(dom, "count-online") == std::to_string(fleet_health["counts"]["online"].get<int>()));
  CHECK(textById(dom, "count-offline") == "1");
  CHECK(textById(dom, "open-crit") == "1");
  CHECK(textById(dom, "open-warn") == std::to_string(fleet_health["open_issues"]["warn"].get<int>()));
  for (const auto& r : fleet_health["regions"])
    CHECK(textById(dom, "region-score-" + r["region"].get<std::string>()) == oneDecimal(r["score"]));
  for (const auto& n : nodes["nodes"]) {
    const std::string id = n["node"].get<std::string>();
    CHECK(textById(dom, "node-score-" + id) == oneDecimal(n["score"]));
    const std::string status = n["online"].get<bool>() ? "online" : n["stale"].get<bool>() ? "stale" : "offline";
    CHECK(textById(dom, "node-status-" + id) == status);
  }
  CHECK(textById(dom, "node-status-gone") == "offline");
  CHECK(textById(dom, "node-score-failing") == "60.0");
  CHECK(textById(dom, "issues-count") == "1");
  CHECK(dom.find(">ci-daemon<") != std::string::npos);
  // No build data yet and no [[region]]: those sections stay hidden.
  CHECK(dom.find("id=\"builds\" hidden") != std::string::npos);
  CHECK(dom.find("id=\"failover\" hidden") != std::string::npos);

  const std::string shot = artifactDir() + "/dashboard.png";
  std::filesystem::remove(shot);
  const int rc = runTo(chromium(fleet.dir, {"--screenshot=" + shot, "--window-size=1280,900"}, url),
                       fleet.dir.file("shot.out"), fleet.dir.file("chromium-shot.log"));
  CHECK(rc == 0);
  REQUIRE(std::filesystem::exists(shot));
  CHECK(std::filesystem::file_size(shot) > 10'000);
  MESSAGE("dashboard screenshot: ", shot);
}

TEST_CASE("dashboard: with [[region]] failover, the page shows the active region, epoch and bad windows") {
  if (!requireTool("chromium", "chromium")) return;
  Fleet fleet;
  fleet.failover = true;
  // Every region keeps an online node, so each region's score stays above the
  // threshold from its first window on: the bad-window counts are 0 for the
  // whole test and a page loaded at any moment must show what the API shows.
  // (With a region whose only node is offline its count grows every window,
  // and two reads taken at different moments cannot be compared.)
  fleet.stop_gone = false;
  fleet.startAndSettle();
  const json api = fleet.get("/api/v1/failover");
  REQUIRE(api.contains("regions"));
  const int rc = runTo(chromium(fleet.dir, {"--dump-dom"}, fmt::format("http://127.0.0.1:{}/", fleet.http_port)),
                       fleet.dir.file("dom.html"), fleet.dir.file("chromium-dom.log"));
  REQUIRE(rc == 0);
  const std::string dom = readFile(fleet.dir.file("dom.html"));
  INFO("DOM: ", dom.substr(0, 4000));
  REQUIRE(dom.find("data-loaded=\"1\"") != std::string::npos);
  CHECK(dom.find("id=\"failover\" hidden") == std::string::npos);
  CHECK(api["active"] == "eu-west");
  CHECK(textById(dom, "failover-active") == "eu-west");
  CHECK(textById(dom, "failover-epoch") == std::to_string(api["epoch"].get<int64_t>()));
  CHECK(textById(dom, "failover-count") == std::to_string(api["failovers"].get<int64_t>()));
  CHECK(textById(dom, "failover-role-eu-west") == "active");
  CHECK(textById(dom, "failover-role-us-east") == "standby");
  for (const auto& r : api["regions"]) {
    CHECK(r["bad_windows"] == 0);
    CHECK(textById(dom, "failover-bad-" + r["name"].get<std::string>()) ==
          fmt::format("0 of {} bad windows (below 5)", r["windows"].get<int>()));
  }
  // Read again after the page: what the page showed has not moved.
  const json after = fleet.get("/api/v1/failover");
  for (const char* key : {"active", "epoch", "failovers"}) CHECK(after[key] == api[key]);
}

TEST_CASE("dashboard: a read token is enforced over a real socket, the page stays public") {
  TempDir dir;
  const uint16_t port = freePort();
  const std::string token = "integration-token-0123456789";
  writeFile(dir.file("token"), token + "\n");
  const std::string cfg = dir.file("aggregator.toml");
  writeFile(
      cfg, fmt::format("[aggregator]\ndatabase = \"{}\"\n[http]\nlisten = \"127.0.0.1:{}\"\nread_token_file = \"{}\"\n",
                       dir.file("aggregator.db"), port, dir.file("token")));
  Process aggregator({binaryDir() + "/hale-aggregator", "run", "--config", cfg}, dir.file("aggregator.log"));
  REQUIRE(waitFor([&] { return httpGet(port, "/health").status == 200; }, std::chrono::seconds(10)));

  auto request = [&](const std::string& target, const std::string& auth) {
    return httpRequest(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "Connection: close\r\n\r\n");
  };
  const auto missing = request("/api/v1/fleet/health", "");
  CHECK(missing.status == 401);
  CHECK(json::parse(missing.body)["status"] == 401);
  CHECK(request("/api/v1/fleet/health", "Authorization: Bearer nope-nope-nope-nope\r\n").status == 401);
  CHECK(request("/metrics", "").status == 401);
  const auto ok = request("/api/v1/fleet/health", "Authorization: Bearer " + token + "\r\n");
  CHECK(ok.status == 200);
  CHECK(json::parse(ok.body)["counts"]["nodes"] == 0);
  CHECK(request("/metrics", "Authorization: Bearer " + token + "\r\n").status == 200);
  CHECK(request("/", "").status == 200);
  CHECK(request("/ready", "").status == 200);

  if (!requireTool("chromium", "chromium")) return;
  // The page takes the token from its fragment and sends it with every call;
  // sessionStorage does not outlive the browser, so the second load has none.
  const std::string base = fmt::format("http://127.0.0.1:{}/", port);
  REQUIRE(runTo(chromium(dir, {"--dump-dom"}, base + "#token=" + token), dir.file("with.html"), dir.file("with.log")) ==
          0);
  const std::string with = readFile(dir.file("with.html"));
  CHECK(with.find("data-loaded=\"1\"") != std::string::npos);
  CHECK(textById(with, "count-nodes") == "0");
  CHECK(textById(with, "fleet-score") == "\u2013");  // an empty fleet has no score
  REQUIRE(runTo(chromium(dir, {"--dump-dom"}, base), dir.file("without.html"), dir.file("without.log")) == 0);
  const std::string without = readFile(dir.file("without.html"));
  CHECK(without.find("data-loaded=\"1\"") == std::string::npos);
  CHECK(without.find("needs a read token") != std::string::npos);
}
