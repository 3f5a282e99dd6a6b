// CI webhook parsers and signatures on payloads modeled on the GitHub, GitLab
// and Jenkins documentation (tests/fixtures/webhooks), plus the ci-runs routes.
#include "aggregator/api/api.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace hale;
using namespace hale::aggregator;

namespace {
std::string fixture(const std::string& name) {
  std::ifstream in(test::sourceDir() + "/tests/fixtures/webhooks/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("webhooks: GitHub workflow_run and check_run parsed and ping ignored") {
  auto run = webhooks::parseGithub("workflow_run", fixture("github_workflow_run.json"));
  REQUIRE(run);
  REQUIRE(*run);
  const auto& w = **run;
  CHECK(w.source == "github");
  CHECK(w.repository == "octo-org/octo-repo");
  CHECK(w.pipeline == "Build");
  CHECK(w.run_id == "30433642");
  CHECK(w.status == "completed");
  CHECK(w.conclusion == "failure");
  CHECK(w.branch == "main");
  CHECK(w.commit == "acb5820ced9479c074f688cc328bf03f341a511d");
  CHECK(w.url == "https://github.com/octo-org/octo-repo/actions/runs/30433642");
  CHECK(w.started_at_ms == 1579721588000);
  CHECK(w.finished_at_ms == 1579721900000);

  auto check = webhooks::parseGithub("check_run", fixture("github_check_run.json"));
  REQUIRE(check);
  REQUIRE(*check);
  CHECK((*check)->pipeline == "Octocoders-linter");
  CHECK((*check)->branch == "changes");
  CHECK((*check)->conclusion == "success");
  CHECK((*check)->finished_at_ms - (*check)->started_at_ms == 33000);

  auto ping = webhooks::parseGithub("ping", fixture("github_ping.json"));
  REQUIRE(ping);
  CHECK_FALSE(*ping);
  CHECK_FALSE(webhooks::parseGithub("workflow_run", "{\"workflow_run\": 5}"));
  CHECK_FALSE(webhooks::parseGithub("workflow_run", "{not json"));
  CHECK_FALSE(webhooks::parseGithub("check_run", "[1,2]"));
}

TEST_CASE("webhooks: GitLab Pipeline Hook and Jenkins notification") {
  auto run = webhooks::parseGitlab("Pipeline Hook", fixture("gitlab_pipeline.json"));
  REQUIRE(run);
  REQUIRE(*run);
  CHECK((*run)->repository == "gitlab-org/gitlab-test");
  CHECK((*run)->run_id == "31");
  CHECK((*run)->status == "failed");
  CHECK((*run)->conclusion == "failed");
  CHECK((*run)->branch == "master");
  CHECK((*run)->url == "http://example.com/gitlab-org/gitlab-test/-/pipelines/31");
  CHECK((*run)->finished_at_ms - (*run)->started_at_ms == 181000);
  auto push = webhooks::parseGitlab("Push Hook", "{\"object_kind\": \"push\"}");
  REQUIRE(push);
  CHECK_FALSE(*push);

  auto j = webhooks::parseJenkins(fixture("jenkins_notification.json"));
  REQUIRE(j);
  REQUIRE(*j);
  CHECK((*j)->repository == "asgard");
  CHECK((*j)->run_id == "asgard#18");
  CHECK((*j)->status == "COMPLETED");
  CHECK((*j)->conclusion == "failure");
  CHECK((*j)->branch == "origin/master");
  CHECK((*j)->finished_at_ms - (*j)->started_at_ms == 95000);
  CHECK_FALSE(webhooks::parseJenkins("{\"name\": \"x\", \"build\": {}}"));
}

TEST_CASE("webhooks: signatures and times") {
  const std::string body = fixture("github_ping.json");
  const std::string sig = webhooks::hmacSignatureHeader("It's a Secret to Everybody", "Hello, World!");
  // The example in GitHub's "Validating webhook deliveries" documentation.
  CHECK(sig == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  CHECK(webhooks::githubSignatureValid("It's a Secret to Everybody", "Hello, World!", sig));
  CHECK_FALSE(webhooks::githubSignatureValid("It's a Secret to Everybody", "Hello, World?", sig));
  CHECK_FALSE(webhooks::githubSignatureValid("another secret", "Hello, World!", sig));
  CHECK_FALSE(webhooks::githubSignatureValid("It's a Secret to Everybody", "Hello, World!", ""));
  CHECK(webhooks::parseTimeMs("1970-01-01T00:00:01Z") == 1000);
  CHECK(webhooks::parseTimeMs("2016-08-12 15:23:28 UTC") == webhooks::parseTimeMs("2016-08-12T17:23:28+02:00"));
  CHECK(webhooks::parseTimeMs("2016-08-12T15:23:28.250Z") == webhooks::parseTimeMs("2016-08-12T15:23:28Z") + 250);
  CHECK(webhooks::parseTimeMs("yesterday") == 0);
  CHECK(webhooks::parseTimeMs("2016-13-12T15:23:28Z") == 0);
}
