// The aggregator's failover service: [[region]] config, decisions stored and
// continued after a restart, the signed retained payload, API and metrics.
#include "aggregator/failover/failover_service.h"
#include "aggregator/api/api.h"
#include "aggregator/core/aggregator_config.h"
#include "aggregator/failover/failover_config.h"
#include "shared/util/clock.h"
#include "shared/wire/command.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace hale;
using namespace hale::aggregator;
using nlohmann::json;

namespace {
std::vector<failover::RegionPolicy> twoRegions() {
  auto root = config::parseText(
      "[[region]]\nname = \"a\"\npriority = 1\nwindows = 2\nwindow = \"1s\"\nmin_dwell = \"1s\"\n"
      "[[region]]\nname = \"b\"\npriority = 2\nwindow = \"1s\"\n",
      "t.toml");
  return failover::readRegions(root, "t.toml");
}

std::string regionError(const std::string& toml) {
  try {
    failover::readRegions(config::parseText(toml, "t.toml"), "t.toml");
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("failover config: region tables with keys defaults and errors") {
  const auto regions = twoRegions();
  REQUIRE(regions.size() == 2);
  CHECK(regions[0].name == "a");
  CHECK(regions[0].windows == 2);
  CHECK(regions[1].windows == 3);
  CHECK(regions[1].threshold == 70);
  CHECK(regions[1].min_dwell == std::chrono::minutes(10));
  CHECK(regions[1].failback == failover::Failback::Manual);
  CHECK(regions[1].failback_after == std::chrono::minutes(30));
  CHECK_FALSE(regions[1].hold_while_remediating);
  CHECK(regionError("[[region]]\npriority = 1\n").find("name") != std::string::npos);
  CHECK(regionError("[[region]]\nname = \"a\"\n[[region]]\nname = \"a\"\n").find("duplicate region") !=
        std::string::npos);
  CHECK(regionError("[[region]]\nname = \"a\"\nfailback = \"sometimes\"\n").find("t.toml:3") != std::string::npos);
  CHECK(regionError("[[region]]\nname = \"a\"\nwindows = 0\n").find("1..1000") != std::string::npos);
  CHECK(regionError("[[region]]\nname = \"a\"\nthreshold = 120\n").find("threshold") != std::string::npos);
  CHECK(regionError("[[region]]\nname = \"a\"\nbogus = 1\n").find("bogus") != std::string::npos);

  test::TempDir dir;
  test::writeFile(dir.file("agg.toml"), "[[region]]\nname = \"a\"\n");
  try {
    loadAggregatorConfig(dir.file("agg.toml"));
    FAIL("failover without a signing key must be refused");
  } catch (const config::ConfigError& e) {
    CHECK(std::string(e.what()).find("signing_key_file") != std::string::npos);
  }
}

TEST_CASE("failover service: decisions are stored and published signed and retained and continue after a restart") {
  test::TempDir dir;
  const auto key = crypto::Key::generate();
  std::vector<std::string> published;
  bool connected = false;
  std::map<std::string, double> scores = {{"a", 100}, {"b", 100}};
  auto sampler = [&](int64_t) {
    std::vector<failover::Observation> out;
    for (const auto& [r, s] : scores) out.push_back({r, s, false});
    return out;
  };
  auto publisher = [&](const std::string& payload) {
    if (!connected) return false;
    published.push_back(payload);
    return true;
  };
  std::vector<failover::Decision> notified;
  test::FakeClock clock;
  const int64_t t0 = toUnixMillis(clock.wallNow());
  {
    asio::io_context io;
    storage::Store store(dir.file("agg.db"));
    failover::Service svc(io, store, twoRegions(), key, sampler, publisher, clock);
    svc.onDecision([&](const failover::Decision& d) { notified.push_back(d); });
    svc.tick(t0);
    CHECK(svc.state().active == "a");
    CHECK(published.empty());  // not connected: retried on the next tick
    connected = true;
    svc.tick(t0 + 100);
    REQUIRE(published.size() == 1);
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(published[0].data()), published[0].size());
    auto spec = wire::verifyCommand(bytes, std::span(&key, 1), "any-node", "global", t0 + 200);
    REQUIRE(spec.ok());
    CHECK(spec->epoch == 1);
    const auto& role = std::get<wire::RegionRoleAction>(spec->action);
    CHECK(role.region == "a");
    CHECK(role.role == wire::RegionRole::Active);
    CHECK(notified.empty());  // the initial choice is not a failover

    scores["a"] = 40;
    for (int64_t t = t0 + 250; t <= t0 + 3'500; t += 250) svc.tick(t);
    clock.advance(std::chrono::milliseconds(4'000));  // promotions below happen after these ticks
    CHECK(svc.state().active == "b");
    CHECK(svc.state().epoch == 2);
    REQUIRE(notified.size() == 1);
    CHECK(notified[0].from == "a");
    CHECK(notified[0].to == "b");
    CHECK(published.size() == 2);

    ingest::Counters counters;
    api::ApiOptions options;
    options.write_token = "write-token-0123456789";
    options.failover = &svc;
    api::Api api(
        store, counters, [] { return true; }, std::move(options));
    auto get = api.handle({"GET", "/api/v1/failover", ""});
    REQUIRE(get.status == 200);
    const auto body = json::parse(get.body);
    CHECK(body["active"] == "b");
    CHECK(body["epoch"] == 2);
    CHECK(body["failovers"] == 1);
    REQUIRE(body["history"].size() == 2);
    CHECK(body["history"][0]["from"] == "a");
    CHECK(body["history"][1]["from"].is_null());
    CHECK(body["regions"][0]["bad_windows"].get<int>() >= 2);
    const auto metrics = api.handle({"GET", "/metrics", ""}).body;
    CHECK(metrics.find("hale_region_active{region=\"a\"} 0\nhale_region_active{region=\"b\"} 1\n") !=
          std::string::npos);
    CHECK(metrics.find("hale_failover_total 1\n") != std::string::npos);

    CHECK(api.handle({"POST", "/api/v1/failover/promote", R"({"region":"a"})"}).status == 401);
    const std::string auth = "Bearer write-token-0123456789";
    CHECK(api.handle({"POST", "/api/v1/failover/promote", R"({"region":"zz"})", auth}).status == 404);
    CHECK(api.handle({"POST", "/api/v1/failover/promote", R"({"region":"b"})", auth}).status == 409);
    CHECK(api.handle({"POST", "/api/v1/failover/promote", "[]", auth}).status == 400);
    auto promoted = api.handle({"POST", "/api/v1/failover/promote", R"({"region":"a"})", auth});
    CHECK(promoted.status == 200);
    CHECK(json::parse(promoted.body)["epoch"] == 3);
    CHECK(published.size() == 3);
    CHECK(notified.size() == 2);
  }
  // Restarted: same decision, same epoch, published again (re-signed), no new decision.
  asio::io_context io;
  storage::Store store(dir.file("agg.db"));
  failover::Service svc(io, store, twoRegions(), key, sampler, publisher, clock);
  CHECK(svc.state().active == "a");
  CHECK(svc.state().epoch == 3);
  svc.tick(t0 + 10'000);
  CHECK(published.size() == 4);
  CHECK(svc.state().epoch == 3);
  CHECK(published[3] != published[2]);  // a fresh nonce and expiry
}

TEST_CASE("failover service: a region is remediating while an attempt's latest event is in progress") {
  test::TempDir dir;
  storage::Store store(dir.file("agg.db"));
  const int64_t now = unixMillisNow();
  auto add = [&](const char* node, uint64_t seq, uint64_t attempt, wire::RemediationOutcome outcome, int64_t at) {
    storage::IngestItem item;
    item.node = node;
    item.region = std::string(node) == "n1" ? "a" : "b";
    item.seq = seq;
    item.remediation = wire::RemediationRecord{attempt, 1, "c", "restart", outcome, "", 0, 0, at};
    store.ingest(std::span(&item, 1));
  };
  add("n1", 1, 7, wire::RemediationOutcome::Fired, now - 1000);
  add("n1", 2, 7, wire::RemediationOutcome::Executed, now - 500);
  add("n2", 1, 3, wire::RemediationOutcome::Fired, now - 1000);
  add("n2", 2, 3, wire::RemediationOutcome::Healed, now - 500);
  CHECK(failover::Service::remediatingRegions(store, now) == std::vector<std::string>{"a"});
  add("n1", 3, 7, wire::RemediationOutcome::NotHealed, now - 100);
  CHECK(failover::Service::remediatingRegions(store, now).empty());
  add("n1", 4, 8, wire::RemediationOutcome::Fired, now - 11 * 60 * 1000);  // too old to count
  CHECK(failover::Service::remediatingRegions(store, now).empty());
}
