// Incoming CI webhooks over a real socket to the real hale-aggregator binary:
// GitHub, GitLab and Jenkins payloads recorded and listed, a bad signature
// refused and counted on /metrics, malformed and oversized bodies refused.
#include "aggregator/webhooks/ci_webhooks.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace hale;
using namespace hale::test;
using nlohmann::json;

namespace {
constexpr std::string_view kGithubSecret = "github-webhook-secret-123";
constexpr std::string_view kGitlabToken = "gitlab-webhook-token-456";
constexpr std::string_view kJenkinsToken = "jenkins-webhook-token-789";
constexpr std::string_view kReadToken = "integration-read-token-42";

std::string fixture(const std::string& name) {
  std::ifstream in(sourceDir() + "/tests/fixtures/webhooks/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpResponse post(uint16_t port, const std::string& path, const std::string& headers, const std::string& body) {
  return httpRequest(
      port, "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n" +
                headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

HttpResponse getAuthed(uint16_t port, const std::string& target) {
  return httpRequest(port, "GET " + target +
                               " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer " +
                               std::string(kReadToken) + "\r\n\r\n");
}

std::string github(const std::string& event, const std::string& body, std::string_view secret = kGithubSecret) {
  return "X-GitHub-Event: " + event +
         "\r\nX-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\r\nX-Hub-Signature-256: " +
         aggregator::webhooks::hmacSignatureHeader(secret, body) + "\r\n";
}
}  // namespace

TEST_CASE("webhooks: CI runs from GitHub GitLab and Jenkins over HTTP with bad signatures refused and counted") {
  TempDir dir;
  const uint16_t port = freePort();
  writeFile(dir.file("github.secret"), std::string(kGithubSecret) + "\n");
  writeFile(dir.file("gitlab.token"), std::string(kGitlabToken));
  writeFile(dir.file("jenkins.token"), std::string(kJenkinsToken));
  writeFile(dir.file("read.token"), std::string(kReadToken));
  writeFile(dir.file("notify.secret"), "notify-secret-0123456789");
  writeFile(dir.file("aggregator.toml"),
            "[aggregator]\ndatabase = \"" + dir.file("agg.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                std::to_string(port) + "\"\nread_token_file = \"" + dir.file("read.token") +
                "\"\n[webhooks]\ngithub_secret_file = \"" + dir.file("github.secret") + "\"\ngitlab_token_file = \"" +
                dir.file("gitlab.token") + "\"\njenkins_token_file = \"" + dir.file("jenkins.token") +
                "\"\n[[notify]]\nkind = \"slack\"\nurl = \"http://127.0.0.1:9/hooks\"\nsecret_file = \"" +
                dir.file("notify.secret") + "\"\nevents = [\"unfixed_critical\", \"region_failover\"]\n");
  Process aggregator({binaryDir() + "/hale-aggregator", "run", "--config", dir.file("aggregator.toml")},
                     dir.file("aggregator.log"));
  REQUIRE(waitFor([&] { return httpGet(port, "/health").status == 200; }, std::chrono::seconds(10)));

  // Recorded (201), then the same delivery again is a duplicate (200).
  const std::string wr = fixture("github_workflow_run.json");
  CHECK(post(port, "/api/v1/webhooks/github", github("workflow_run", wr), wr).status == 201);
  CHECK(post(port, "/api/v1/webhooks/github", github("workflow_run", wr), wr).status == 200);
  const std::string cr = fixture("github_check_run.json");
  CHECK(post(port, "/api/v1/webhooks/github", github("check_run", cr), cr).status == 201);
  const std::string ping = fixture("github_ping.json");
  CHECK(post(port, "/api/v1/webhooks/github", github("ping", ping), ping).status == 202);
  const std::string gl = fixture("gitlab_pipeline.json");
  CHECK(post(port, "/api/v1/webhooks/gitlab",
             "X-Gitlab-Event: Pipeline Hook\r\nX-Gitlab-Token: " + std::string(kGitlabToken) + "\r\n", gl)
            .status == 201);
  const std::string jk = fixture("jenkins_notification.json");
  CHECK(post(port, "/api/v1/webhooks/jenkins", "Authorization: Bearer " + std::string(kJenkinsToken) + "\r\n", jk)
            .status == 201);

  // Refused: wrong secret, tampered body, missing signature, wrong tokens.
  auto bad = post(port, "/api/v1/webhooks/github", github("workflow_run", wr, "not-the-secret-at-all"), wr);
  CHECK(bad.status == 401);
  CHECK(json::parse(bad.body)["error"] == "bad or missing X-Hub-Signature-256");
  std::string tampered = wr;
  tampered[tampered.find("failure")] = 'F';
  CHECK(post(port, "/api/v1/webhooks/github", github("workflow_run", wr), tampered).status == 401);
  CHECK(post(port, "/api/v1/webhooks/github", "X-GitHub-Event: workflow_run\r\n", wr).status == 401);
  CHECK(post(port, "/api/v1/webhooks/gitlab",
             "X-Gitlab-Event: Pipeline Hook\r\nX-Gitlab-Token: wrong-token-wrong-token\r\n", gl)
            .status == 401);
  CHECK(
      post(port, "/api/v1/webhooks/jenkins", "Authorization: Bearer " + std::string(kReadToken) + "\r\n", jk).status ==
      401);
  // Malformed (authentic but not JSON) and oversized bodies.
  const std::string junk = "{\"workflow_run\": ";
  CHECK(post(port, "/api/v1/webhooks/github", github("workflow_run", junk), junk).status == 400);
  const std::string huge(aggregator::webhooks::kMaxPayloadBytes + 1, ' ');
  CHECK(post(port, "/api/v1/webhooks/github", github("workflow_run", huge), huge).status == 413);
  CHECK(post(port, "/api/v1/webhooks/bitbucket", "", "{}").status == 404);
  CHECK(httpGet(port, "/api/v1/webhooks/github").status == 405);

  // Listing needs the read token like every other read; webhooks did not.
  CHECK(httpGet(port, "/api/v1/ci-runs").status == 401);
  auto all = json::parse(getAuthed(port, "/api/v1/ci-runs").body);
  CHECK(all["total"] == 4);
  auto failed = json::parse(getAuthed(port, "/api/v1/ci-runs?status=failure&limit=1").body);
  CHECK(failed["total"] == 2);  // the GitHub workflow and the Jenkins build
  CHECK(failed["ci_runs"].size() == 1);
  auto repo = json::parse(getAuthed(port, "/api/v1/ci-runs?repository=gitlab-org%2Fgitlab-test").body);
  REQUIRE(repo["ci_runs"].size() == 1);
  CHECK(repo["ci_runs"][0]["source"] == "gitlab");
  CHECK(repo["ci_runs"][0]["conclusion"] == "failed");
  CHECK(repo["ci_runs"][0]["commit"] == "bcbb5ec396a2c0f828686f14fac9b80b780504f2");
  CHECK(getAuthed(port, "/api/v1/ci-runs?limit=0").status == 400);
  auto stats = json::parse(getAuthed(port, "/api/v1/statistics").body);
  CHECK(stats["ci_runs"]["total"] == 4);
  CHECK(stats["ci_runs"]["by_outcome"]["failure"] == 2);

  const std::string metrics = getAuthed(port, "/metrics").body;
  CHECK(metrics.find("hale_webhook_rejected_total{source=\"github\"} 3\n") != std::string::npos);
  CHECK(metrics.find("hale_webhook_rejected_total{source=\"gitlab\"} 1\n") != std::string::npos);
  CHECK(metrics.find("hale_webhook_rejected_total{source=\"jenkins\"} 1\n") != std::string::npos);
  CHECK(metrics.find("hale_webhook_received_total{source=\"github\",outcome=\"recorded\"} 2\n") != std::string::npos);
  CHECK(metrics.find("hale_webhook_received_total{source=\"github\",outcome=\"too_large\"} 1\n") != std::string::npos);
  CHECK(metrics.find("hale_notifications_queue_depth 0\n") != std::string::npos);
  CHECK(metrics.find("hale_notifications_sent_total 0\n") != std::string::npos);
}
