// Outgoing notifications from the real hale-aggregator binary: a critical
// issue left unfixed is delivered, signed, to a receiver on 127.0.0.1 after a
// 500, shows on /metrics, and is not sent again after a restart.
#include "aggregator/storage/store.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "shared/util/clock.h"
#include "tests/support/harness.h"
#include "tests/support/http_receiver.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <signal.h>

using namespace hale;
using namespace hale::test;
using nlohmann::json;

TEST_CASE("notify: the aggregator reports an unfixed critical issue once and signed across a restart") {
  TempDir dir;
  Receiver rx({500});
  const uint16_t port = freePort();
  const std::string secret = "integration-notify-secret";
  writeFile(dir.file("notify.secret"), secret + "\n");
  {
    // An agent reported this issue 20 minutes ago; nobody fixed it.
    aggregator::storage::Store store(dir.file("agg.db"));
    aggregator::storage::IngestItem item;
    item.node = "web-1";
    item.region = "eu";
    item.seq = 1;
    item.sent_at_ms = item.received_ms = unixMillisNow();
    wire::IssueRecord issue;
    issue.issue_id = 42;
    issue.check = "nginx";
    issue.status = issue.severity = wire::CheckStatus::Crit;
    issue.message = "connection refused on :80";
    issue.opened_at_ms = unixMillisNow() - 20 * 60 * 1000;
    item.issue = issue;
    store.ingest(std::span(&item, 1));
  }
  writeFile(dir.file("aggregator.toml"),
            "[aggregator]\ndatabase = \"" + dir.file("agg.db") +
                "\"\n[http]\nlisten = \"127.0.0.1:" + std::to_string(port) +
                "\"\n[[notify]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" + std::to_string(rx.port()) +
                "/hale\"\nsecret_file = \"" + dir.file("notify.secret") +
                "\"\nretry_initial = \"200ms\"\nretry_cap = \"200ms\"\n");
  const std::vector<std::string> argv{binaryDir() + "/hale-aggregator", "run", "--config", dir.file("aggregator.toml")};
  {
    Process aggregator(argv, dir.file("aggregator.log"));
    REQUIRE(waitFor([&] { return rx.got().size() == 2; }, std::chrono::seconds(10)));
    REQUIRE(waitFor(
        [&] { return httpGet(port, "/metrics").body.find("hale_notifications_sent_total 1\n") != std::string::npos; },
        std::chrono::seconds(5)));
    const std::string metrics = httpGet(port, "/metrics").body;
    CHECK(metrics.find("hale_notifications_retries_total 1\n") != std::string::npos);
    CHECK(metrics.find("hale_notifications_queue_depth 0\n") != std::string::npos);
  }
  const auto got = rx.got();
  REQUIRE(got.size() == 2);
  CHECK(got[0].body == got[1].body);
  CHECK(got[1].target == "/hale");
  CHECK(aggregator::webhooks::githubSignatureValid(secret, got[1].body, got[1].signature));
  const json body = json::parse(got[1].body);
  CHECK(body["event"] == "unfixed_critical");
  CHECK(body["node"] == "web-1");
  CHECK(body["region"] == "eu");
  CHECK(body["check"] == "nginx");
  CHECK(body["issue"] == 42);
  CHECK(body["severity"] == "critical");
  CHECK(body["message"] == "connection refused on :80");
  CHECK(body["link"] == "http://127.0.0.1:" + std::to_string(port) + "/api/v1/nodes/web-1");

  // Restarted: the queue remembers the notification was sent.
  Process again(argv, dir.file("aggregator2.log"));
  REQUIRE(waitFor([&] { return httpGet(port, "/health").status == 200; }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // more than one scan (every second)
  CHECK(rx.got().size() == 2);
}
