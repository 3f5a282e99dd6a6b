// Outgoing notifications against an HTTP receiver thread on 127.0.0.1: HMAC
// checked by the receiver, 500 then 200 -> retried and delivered once, the
// queue surviving a restart, dedup, and region failover. Time is a FakeClock:
// a retry becomes due when the test moves the clock past its delay.
#include "aggregator/notify/notifier.h"
#include "aggregator/storage/store.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "shared/util/clock.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"
#include "tests/support/http_receiver.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace hale;
using namespace hale::aggregator;
using hale::test::Receiver;
using nlohmann::json;

namespace {
constexpr std::string_view kSecret = "notify-test-secret-0123456789";

notify::Target target(const std::string& kind, uint16_t port, std::vector<notify::Event> events) {
  notify::Target t;
  t.kind = kind;
  t.url_text = fmt::format("http://127.0.0.1:{}/hook", port);
  t.url = *net::parseUrl(t.url_text);
  t.secret = std::string(kSecret);
  t.events = std::move(events);
  t.retry_initial = std::chrono::milliseconds(100);
  t.retry_cap = std::chrono::milliseconds(400);
  t.max_attempts = 3;
  t.timeout = std::chrono::seconds(2);
  return t;
}

int64_t nowMs(const Clock& clock) { return toUnixMillis(clock.wallNow()); }

// Retries wait exactly half their base delay: 50 ms, then 100 ms, ...
notify::RetryPolicy fixedRetry() {
  return notify::RetryPolicy([] { return 0.0; });
}

void remediation(storage::Store& store, const Clock& clock, uint64_t seq, wire::RemediationOutcome outcome,
                 const std::string& reason, uint64_t issue = 7, int64_t age_ms = 0) {
  storage::IngestItem item;
  item.node = "n1";
  item.region = "eu";
  item.seq = seq;
  item.sent_at_ms = item.received_ms = nowMs(clock);
  wire::RemediationRecord r;
  r.attempt_id = 3;
  r.issue_id = issue;
  r.check = "nginx";
  r.action = "plan";
  r.outcome = outcome;
  r.reason = reason;
  r.at_ms = nowMs(clock) - age_ms;
  item.remediation = r;
  store.ingest(std::span(&item, 1));
}

bool signatureOk(const Receiver::Got& g) {
  return webhooks::githubSignatureValid(kSecret, g.body, g.signature);  // same sha256=<hex> scheme
}
}  // namespace

TEST_CASE("notifier: a failed remediation is retried after a 500 and delivered once and signed across a restart") {
  test::TempDir dir;
  test::FakeClock clock;
  storage::Store store(dir.file("agg.db"));
  Receiver rx({500});
  notify::Settings settings{{target("webhook", rx.port(), {notify::Event::RemediationFailed})},
                            "http://127.0.0.1:8080",
                            std::chrono::milliseconds(50)};
  {
    remediation(store, clock, 10, wire::RemediationOutcome::Failed, "before the first start", 99, 60'000);
    notify::Notifier n(dir.file("agg.db"), settings, clock, fixedRetry());
    n.runOnce();  // first pass: sets the watermark (history before it is not notified)
    CHECK(rx.got().empty());
    remediation(store, clock, 1, wire::RemediationOutcome::Failed, "restart did not heal: exit 1");
    remediation(store, clock, 2, wire::RemediationOutcome::Healed, "healed");
    n.runOnce();
    REQUIRE(rx.got().size() == 1);  // answered 500
    CHECK(n.counters().retries == 1);
    CHECK(n.counters().sent == 0);
    CHECK(n.counters().depth == 1);
    std::string metrics;
    n.appendMetrics(metrics);
    CHECK(metrics.find("hale_notifications_queue_depth 1\n") != std::string::npos);
  }
  // A new notifier on the same database (an aggregator restart) finds the queued item,
  // due once the first retry delay (50 ms) has passed.
  notify::Notifier n(dir.file("agg.db"), settings, clock, fixedRetry());
  clock.advance(std::chrono::milliseconds(49));
  n.runOnce();
  CHECK(n.counters().sent == 0);
  clock.advance(std::chrono::milliseconds(1));
  n.runOnce();
  CHECK(n.counters().sent == 1);
  n.runOnce();
  n.runOnce();
  const auto got = rx.got();
  REQUIRE(got.size() == 2);
  CHECK(got[0].body == got[1].body);
  CHECK(got[1].target == "/hook");
  for (const auto& g : got) CHECK(signatureOk(g));
  Receiver::Got forged = got[1];
  forged.body[5] ^= 1;
  CHECK_FALSE(signatureOk(forged));
  const json body = json::parse(got[1].body);
  CHECK(body["event"] == "remediation_failed");
  CHECK(body["node"] == "n1");
  CHECK(body["region"] == "eu");
  CHECK(body["check"] == "nginx");
  CHECK(body["issue"] == 7);
  CHECK(body["severity"] == "error");
  CHECK(body["message"].get<std::string>().find("exit 1") != std::string::npos);
  CHECK(body["time"].get<std::string>().ends_with("Z"));
  CHECK(body["link"] == "http://127.0.0.1:8080/api/v1/nodes/n1");
  CHECK(n.counters().depth == 0);
  // The same (event, node, check, issue) again is not a new notification.
  remediation(store, clock, 3, wire::RemediationOutcome::Failed, "failed again");
  n.runOnce();
  CHECK(rx.got().size() == 2);
}

TEST_CASE("notifier: gives up after max_attempts and counts the failure") {
  test::TempDir dir;
  test::FakeClock clock;
  storage::Store store(dir.file("agg.db"));
  Receiver rx({500, 500, 500, 500});
  auto t = target("slack", rx.port(), {notify::Event::BreakerOpen});
  t.retry_initial = t.retry_cap = std::chrono::milliseconds(20);
  notify::Notifier n(dir.file("agg.db"), notify::Settings{{t}, "", std::chrono::milliseconds(20)}, clock, fixedRetry());
  n.runOnce();
  remediation(store, clock, 1, wire::RemediationOutcome::Skipped, "circuit breaker open");
  for (int pass = 0; pass < 3; ++pass) {
    n.runOnce();
    clock.advance(std::chrono::milliseconds(10));  // each retry waits 10 ms (half of 20)
  }
  CHECK(n.counters().retries == 2);
  CHECK(n.counters().failed == 1);
  n.runOnce();  // abandoned: not tried again
  CHECK(rx.got().size() == 3);
  CHECK(n.counters().sent == 0);
  const json body = json::parse(rx.got()[0].body);
  CHECK(body.size() == 1);  // Slack incoming-webhook shape
  CHECK(body["text"].get<std::string>().find("Circuit breaker open on n1 (eu) for nginx") != std::string::npos);
}

TEST_CASE("notifier: an unfixed critical issue and a region failover from the worker thread") {
  test::TempDir dir;
  test::FakeClock clock;
  storage::Store store(dir.file("agg.db"));
  Receiver rx({});
  storage::IngestItem item;
  item.node = "n2";
  item.region = "us";
  item.seq = 1;
  item.sent_at_ms = item.received_ms = nowMs(clock);
  wire::IssueRecord issue;
  issue.issue_id = 11;
  issue.check = "disk";
  issue.severity = wire::CheckStatus::Crit;
  issue.status = wire::CheckStatus::Crit;
  issue.message = "96% used";
  issue.opened_at_ms = nowMs(clock) - 20 * 60 * 1000;  // open 20 min: above unfixed_after
  item.issue = issue;
  store.ingest(std::span(&item, 1));
  item.seq = 2;
  item.issue->issue_id = 12;
  item.issue->check = "fresh";
  item.issue->opened_at_ms = nowMs(clock);  // too young to report
  store.ingest(std::span(&item, 1));

  notify::Notifier n(
      dir.file("agg.db"),
      notify::Settings{{target("webhook", rx.port(), {notify::Event::UnfixedCritical, notify::Event::RegionFailover})},
                       "",
                       std::chrono::milliseconds(20)},
      clock);
  n.start();
  REQUIRE(test::waitFor([&] { return n.counters().sent == 1; }, std::chrono::seconds(10)));
  n.regionFailover("us", "eu", 4, "health below 70 for 3 windows");  // wakes the worker at once
  REQUIRE(test::waitFor([&] { return n.counters().sent == 2; }, std::chrono::seconds(10)));
  n.stop();  // joins the worker: nothing is delivered after this
  CHECK(n.counters().sent == 2);
  const auto got = rx.got();
  REQUIRE(got.size() == 2);
  const json a = json::parse(got[0].body), b = json::parse(got[1].body);
  CHECK(a["event"] == "unfixed_critical");
  CHECK(a["check"] == "disk");
  CHECK(a["issue"] == 11);
  CHECK(a["severity"] == "critical");
  CHECK(b["event"] == "region_failover");
  CHECK(b["region"] == "us");
  CHECK(b["issue"] == 4);
  CHECK(b["message"].get<std::string>().find("region us demoted, eu promoted (epoch 4)") != std::string::npos);
  for (const auto& g : got) CHECK(signatureOk(g));
}
