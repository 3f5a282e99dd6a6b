// [[notify]] and [webhooks] in the aggregator config: secrets from files or
// the environment only, events validated, errors with file:line:col.
#include "aggregator/core/aggregator_config.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <cstdlib>

using namespace hale;
using namespace hale::aggregator;

namespace {
AggregatorConfig load(const test::TempDir& dir, const std::string& toml) {
  const std::string path = dir.file("aggregator.toml");
  test::writeFile(path, toml);
  return loadAggregatorConfig(path);
}

std::string errorOf(const test::TempDir& dir, const std::string& toml) {
  try {
    load(dir, toml);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("notify_config: notify targets and webhook secrets") {
  test::TempDir dir;
  test::writeFile(dir.file("gh.secret"), "  github-secret-0123456789\n");
  ::setenv("HALE_TEST_NOTIFY_SECRET", "notify-secret-0123456789", 1);
  const auto cfg =
      load(dir, "[webhooks]\ngithub_secret_file = \"" + dir.file("gh.secret") +
                    "\"\n[[notify]]\nkind = \"slack\"\nurl = \"https://hooks.example.com/services/T0/B0/x\"\n"
                    "[[notify]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9000/hale\"\n"
                    "secret_env = \"HALE_TEST_NOTIFY_SECRET\"\nevents = [\"region_failover\"]\n"
                    "unfixed_after = \"30m\"\nmax_attempts = 3\n");
  CHECK(cfg.webhooks.github == "github-secret-0123456789");
  CHECK_FALSE(cfg.webhooks.gitlab);
  REQUIRE(cfg.notify.size() == 2);
  CHECK(cfg.notify[0].url.https);
  CHECK(cfg.notify[0].url.port == 443);
  CHECK(cfg.notify[0].events.size() == 4);
  CHECK_FALSE(cfg.notify[0].secret);
  CHECK(cfg.notify[1].secret == "notify-secret-0123456789");
  CHECK(cfg.notify[1].wants(notify::Event::RegionFailover));
  CHECK_FALSE(cfg.notify[1].wants(notify::Event::UnfixedCritical));
  CHECK(cfg.notify[1].unfixed_after == std::chrono::minutes(30));
  CHECK(cfg.notify[1].max_attempts == 3);

  CHECK(errorOf(dir, "[[notify]]\nkind = \"email\"\nurl = \"http://x/\"\n").find(":2:") != std::string::npos);
  CHECK(errorOf(dir, "[[notify]]\nkind = \"slack\"\nurl = \"ftp://x/\"\n").find("http://") != std::string::npos);
  CHECK(errorOf(dir, "[[notify]]\nkind = \"slack\"\nurl = \"http://x/\"\nevents = [\"lunch\"]\n")
            .find("unknown event 'lunch'") != std::string::npos);
  CHECK(errorOf(dir, "[[notify]]\nkind = \"slack\"\nurl = \"http://x/\"\nsecret = \"inline\"\n") != "");
  CHECK(errorOf(dir, "[notify]\nkind = \"slack\"\n").find("[[notify]]") != std::string::npos);
  ::setenv("HALE_TEST_SHORT", "short", 1);
  CHECK(errorOf(dir, "[webhooks]\ngitlab_token_env = \"HALE_TEST_SHORT\"\n").find("16 characters") !=
        std::string::npos);
}
