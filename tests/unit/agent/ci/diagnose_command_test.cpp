// `diagnose` command: exit codes, text and JSON output, --learn --confirm.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "agent/ci/diagnose_command.h"
#include "build_test_support.h"

using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;

namespace {
int run(std::vector<std::string> args, std::string* out) {
  int rc = 0;
  *out = captureStdout([&] { rc = runDiagnoseCommand(args); });
  return rc;
}
}  // namespace

TEST_CASE("diagnose_command: usage errors exit 2, --help exits 0") {
  std::string out;
  CHECK(run({"--help"}, &out) == 0);
  CHECK(out.find("usage: hale-agent diagnose") != std::string::npos);
  CHECK(run({"--patterns", sourcePath("config/patterns")}, &out) == 2);
  CHECK(run({"--bogus", "x.log"}, &out) == 2);
  CHECK(run({"--patterns", "/nonexistent", fixture("network_npm.log")}, &out) == 2);
  CHECK(run({"--patterns", sourcePath("config/patterns"), "/nonexistent/x.log"}, &out) == 2);
  CHECK(run({"--confirm", "--learn", "network", fixture("network_npm.log")}, &out) == 2);
}

TEST_CASE("diagnose_command: text output names category, evidence lines and remedy") {
  std::string out;
  REQUIRE(run({"--patterns", sourcePath("config/patterns"), fixture("resource_disk.log")}, &out) == 0);
  CHECK(out.find("category:    resource-disk") != std::string::npos);
  CHECK(out.find("remedy:      free-disk") != std::string::npos);
  CHECK(out.find("      4: ") != std::string::npos);
}

TEST_CASE("diagnose_command: --json is machine-readable") {
  std::string out;
  REQUIRE(run({"--json", "--patterns", sourcePath("config/patterns"), fixture("test_go.log")}, &out) == 0);
  const auto j = nlohmann::json::parse(out);
  CHECK(j["category"] == "test");
  CHECK(j["remedy"] == "none");
  CHECK(j["evidence"][0]["line"] == 5);
  CHECK(j["failed_tests"][0] == "TestEncode");
  CHECK(j["confidence"].get<double>() > 0.5);
}

TEST_CASE("diagnose_command: --learn proposes, --confirm appends") {
  TempDir dir;
  writeFile(dir.file("job.log"), "x\nwidget registry handshake failed with code 77\n");
  std::string out;
  REQUIRE(run({"--learn", "network", "--patterns", sourcePath("config/patterns"), dir.file("job.log")}, &out) == 0);
  CHECK(out.find("[[pattern]]") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("local.toml")));
  REQUIRE(run({"--learn", "network", "--confirm", "--local", dir.file("local.toml"), "--patterns",
               sourcePath("config/patterns"), dir.file("job.log")},
              &out) == 0);
  REQUIRE(run({"--json", "--patterns", sourcePath("config/patterns"), "--patterns", dir.file("local.toml"),
               dir.file("job.log")},
              &out) == 0);
  CHECK(nlohmann::json::parse(out)["category"] == "network");
}

TEST_CASE("diagnose_command: --junit turns a test failure into flaky") {
  TempDir dir;
  writeFile(dir.file("job.log"), "--- FAIL: TestCache (0.20s)\nFAIL\n");
  std::string out;
  REQUIRE(run({"--json", "--patterns", sourcePath("config/patterns"), "--junit", fixture("junit_flaky.xml"),
               dir.file("job.log")},
              &out) == 0);
  CHECK(nlohmann::json::parse(out)["category"] == "test");  // the fixture still has one real failure
  writeFile(dir.file("rerun.xml"), R"(<testcase name="TestCache"><failure/></testcase><testcase name="TestCache"/>)");
  REQUIRE(run({"--json", "--patterns", sourcePath("config/patterns"), "--junit", dir.file("rerun.xml"),
               dir.file("job.log")},
              &out) == 0);
  const auto j = nlohmann::json::parse(out);
  CHECK(j["category"] == "flaky");
  CHECK(j["remedy"] == "rerun-failed-tests");
  CHECK(run({"--patterns", sourcePath("config/patterns"), "--junit", "/nonexistent.xml", dir.file("job.log")}, &out) ==
        2);
}

TEST_CASE("diagnose_command: --failed says a quiet log of a failed step is unknown, not none") {
  TempDir dir;
  writeFile(dir.file("quiet.log"), "Run ./deploy.sh\nUploading...\n");
  std::string out;
  REQUIRE(run({"--json", "--patterns", sourcePath("config/patterns"), dir.file("quiet.log")}, &out) == 0);
  CHECK(nlohmann::json::parse(out)["category"] == "none");
  REQUIRE(run({"--json", "--failed", "--patterns", sourcePath("config/patterns"), dir.file("quiet.log")}, &out) == 0);
  CHECK(nlohmann::json::parse(out)["category"] == "unknown");
}

TEST_CASE("diagnose_command: several logs give one JSON object per line, each naming its file") {
  std::string out;
  REQUIRE(
      run({"--json", "--patterns", sourcePath("config/patterns"), fixture("test_go.log"), fixture("resource_disk.log")},
          &out) == 0);
  std::istringstream lines(out);
  std::string first, second;
  REQUIRE(std::getline(lines, first));
  REQUIRE(std::getline(lines, second));
  CHECK(nlohmann::json::parse(first)["file"] == fixture("test_go.log"));
  CHECK(nlohmann::json::parse(first)["category"] == "test");
  CHECK(nlohmann::json::parse(second)["file"] == fixture("resource_disk.log"));
  CHECK(nlohmann::json::parse(second)["category"] == "resource-disk");
}
