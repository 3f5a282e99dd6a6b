// [aggregator] snapshot and retention keys and the [http] read token.
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

TEST_CASE("aggregator_config: snapshot and retention defaults and overrides") {
  test::TempDir dir;
  const auto defaults = load(dir, "");
  CHECK(defaults.snapshots.interval == std::chrono::minutes(1));
  CHECK(defaults.snapshots.retention_raw == std::chrono::hours(24 * 7));
  CHECK(defaults.snapshots.retention_snapshots == std::chrono::hours(24 * 90));
  CHECK(defaults.health.result_stale_after_ms == 600'000);
  CHECK_FALSE(defaults.read_token.has_value());

  const auto set = load(dir,
                        "[aggregator]\nsnapshot_interval = \"200ms\"\nretention_raw = \"2d\"\n"
                        "retention_snapshots = \"30d\"\nresult_stale_after = \"1m\"\n");
  CHECK(set.snapshots.interval == std::chrono::milliseconds(200));
  CHECK(set.snapshots.retention_raw == std::chrono::hours(48));
  CHECK(set.health.result_stale_after_ms == 60'000);
}

TEST_CASE("aggregator_config: rejects bad retention") {
  test::TempDir dir;
  CHECK(errorOf(dir, "[aggregator]\nretention_raw = \"30d\"\nretention_snapshots = \"7d\"\n")
            .find("expected at least retention_raw") != std::string::npos);
  CHECK(errorOf(dir, "[aggregator]\nsnapshot_interval = \"0s\"\n").find("above zero") != std::string::npos);
  CHECK(errorOf(dir, "[aggregator]\nsnapshot_interval = \"often\"\n").find("snapshot_interval") != std::string::npos);
}

TEST_CASE("aggregator_config: the read token comes from a file or the environment, never inline") {
  test::TempDir dir;
  SUBCASE("file, trailing newline trimmed") {
    test::writeFile(dir.file("token"), "abcdefghijklmnop-123\n");
    const auto cfg = load(dir, "[http]\nread_token_file = \"" + dir.file("token") + "\"\n");
    CHECK(cfg.read_token == "abcdefghijklmnop-123");
  }
  SUBCASE("environment") {
    ::setenv("HALE_TEST_READ_TOKEN", "0123456789abcdef0123", 1);
    const auto cfg = load(dir, "[http]\nread_token_env = \"HALE_TEST_READ_TOKEN\"\n");
    CHECK(cfg.read_token == "0123456789abcdef0123");
    ::unsetenv("HALE_TEST_READ_TOKEN");
  }
  SUBCASE("errors name the key") {
    CHECK(errorOf(dir, "[http]\nread_token = \"inline-secret-000000\"\n").find("unknown key 'read_token'") !=
          std::string::npos);
    CHECK(errorOf(dir, "[http]\nread_token_file = \"" + dir.file("missing") + "\"\n").find("cannot read") !=
          std::string::npos);
    test::writeFile(dir.file("short"), "short\n");
    CHECK(errorOf(dir, "[http]\nread_token_file = \"" + dir.file("short") + "\"\n").find("16 characters") !=
          std::string::npos);
    CHECK(errorOf(dir, "[http]\nread_token_env = \"HALE_TEST_UNSET_VARIABLE\"\n").find("HALE_TEST_UNSET_VARIABLE") !=
          std::string::npos);
    test::writeFile(dir.file("token"), "abcdefghijklmnop-123\n");
    CHECK(errorOf(dir, "[http]\nread_token_file = \"" + dir.file("token") + "\"\nread_token_env = \"X\"\n")
              .find("not both") != std::string::npos);
  }
}
