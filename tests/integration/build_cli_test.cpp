// `hale-agent diagnose --watch` as a real process: files dropped into the
// directory are classified, printed, stored in the agent's builds table and
// queued as BuildEvent telemetry.
#include "agent/state/state_store.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <filesystem>
#include <sstream>
#include <thread>

using namespace hale;
using namespace hale::test;

TEST_CASE("builds: diagnose --watch classifies dropped logs and JUnit reports and records them") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("drop"));
  writeFile(dir.file("agent.toml"),
            "[agent]\nnode = \"n1\"\nregion = \"eu\"\nstate_dir = \"" + dir.file("state") + "\"\n");
  const std::string out = dir.file("watch.out");
  Process watch({binaryDir() + "/hale-agent", "diagnose", "--watch", dir.file("drop"), "--json", "--config",
                 dir.file("agent.toml"), "--patterns", std::string(HALE_SOURCE_DIR) + "/config/patterns"},
                out);
  // Files completed from the moment it says so are seen.
  REQUIRE(waitFor([&] { return readFile(out).find("watching 1 directory") != std::string::npos; },
                  std::chrono::seconds(30)));
  writeFile(dir.file("drop/.step.log.tmp"),
            "error: failed to write /work/target: No space left on device (os error 28)\n");
  std::filesystem::rename(dir.file("drop/.step.log.tmp"), dir.file("drop/step.log"));
  writeFile(
      dir.file("drop/r1.xml"),
      "<testsuite name=\"s\"><testcase classname=\"s\" name=\"t\"><failure message=\"boom\"/></testcase></testsuite>");
  writeFile(dir.file("drop/r2.xml"), "<testsuite name=\"s\"><testcase classname=\"s\" name=\"t\"/></testsuite>");
  REQUIRE(waitFor([&] { return readFile(out).find("r2.xml") != std::string::npos; }, std::chrono::seconds(10)));
  const auto status = watch.stop();
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);

  std::vector<nlohmann::json> lines;
  std::istringstream text(readFile(out));
  for (std::string line; std::getline(text, line);)
    if (!line.empty() && line[0] == '{') lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["kind"] == "log");
  CHECK(lines[0]["category"] == "resource-disk");
  CHECK(lines[1]["category"] == "test");
  CHECK(lines[2]["category"] == "flaky");
  CHECK(lines[2]["tests"]["flaky"][0] == "s.t");

  agent::state::StateStore store(dir.file("state"));
  sqlite::Statement rows(store.db(), "SELECT build_id, command, category, exit_code FROM builds ORDER BY build_id");
  std::vector<std::string> categories;
  while (rows.step()) {
    categories.push_back(rows.text(2));
    CHECK(rows.text(1).rfind("watch ", 0) == 0);
  }
  CHECK(categories == std::vector<std::string>{"resource-disk", "test", "flaky"});
  CHECK(store.outboxDepth() == 3);
}

TEST_CASE("builds: exec --policy NAME shares its retry budget across runs through the agent's state") {
  TempDir dir;
  writeFile(dir.file("agent.toml"), "[agent]\nnode = \"n1\"\nregion = \"eu\"\nstate_dir = \"" + dir.file("state") +
                                        "\"\n[[build_policy]]\nname = \"ci\"\nremedies_per_hour = 1\n");
  const std::vector<std::string> exec = {binaryDir() + "/hale-agent",
                                         "exec",
                                         "--config",
                                         dir.file("agent.toml"),
                                         "--policy",
                                         "ci",
                                         "--retry-delay",
                                         "10ms",
                                         "--max-attempts",
                                         "2",
                                         "--patterns",
                                         std::string(HALE_SOURCE_DIR) + "/config/patterns",
                                         "--",
                                         "/bin/sh",
                                         "-c",
                                         "echo 'npm ERR! code ECONNRESET' >&2; exit 1"};
  CHECK(runCommand(exec, dir.file("first.log")) == 1);
  CHECK(readFile(dir.file("first.log")).find("applying retry") != std::string::npos);
  CHECK(runCommand(exec, dir.file("second.log")) == 1);
  const std::string second = readFile(dir.file("second.log"));
  CHECK(second.find("policy ci: not applying retry") != std::string::npos);
  CHECK(second.find("applying retry;") == std::string::npos);

  agent::state::StateStore store(dir.file("state"));
  sqlite::Statement rows(store.db(),
                         "SELECT build_id, attempt, remedy, evidence FROM builds ORDER BY build_id, attempt");
  std::vector<std::string> remedies;
  std::string refused_evidence;
  while (rows.step()) {
    remedies.push_back(rows.text(2));
    if (rows.text(2).starts_with("refused")) refused_evidence = rows.text(3);
  }
  CHECK(remedies == std::vector<std::string>{"retry", "none", "refused:retry"});
  CHECK(refused_evidence.find("budget of 1 remedies per hour") != std::string::npos);

  // An unknown policy is a usage error before anything runs.
  auto unknown = exec;
  unknown[5] = "nope";
  CHECK(runCommand(unknown, dir.file("unknown.log")) == 2);
  CHECK(readFile(dir.file("unknown.log")).find("no [[build_policy]] named 'nope'") != std::string::npos);
}

TEST_CASE("builds: the running agent watches [builds] watch_dirs and records each completed file") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("drop"));
  writeFile(dir.file("agent.toml"), "[agent]\nnode = \"n1\"\nregion = \"eu\"\nstate_dir = \"" + dir.file("state") +
                                        "\"\n[builds]\nwatch_dirs = [\"" + dir.file("drop") + "\"]\npatterns = [\"" +
                                        std::string(HALE_SOURCE_DIR) + "/config/patterns\"]\n");
  Process agent({binaryDir() + "/hale-agent", "run", "--config", dir.file("agent.toml")}, dir.file("agent.log"));
  REQUIRE(waitFor([&] { return readFile(dir.file("agent.log")).find("starting") != std::string::npos; },
                  std::chrono::seconds(5)));
  writeFile(dir.file("drop/build.log"),
            "src/main.c:3:10: fatal error: missing.h: No such file or directory\n"
            "compilation terminated.\nmake: *** [Makefile:2: all] Error 1\n");
  writeFile(dir.file("drop/TEST-a.xml"),
            "<testsuite name=\"a\"><testcase classname=\"a\" name=\"t\"><failure/></testcase></testsuite>");
  std::vector<std::string> categories;
  REQUIRE(waitFor(
      [&] {
        agent::state::StateStore store(dir.file("state"));
        sqlite::Statement rows(store.db(), "SELECT category FROM builds ORDER BY build_id");
        categories.clear();
        while (rows.step()) categories.push_back(rows.text(0));
        return categories.size() == 2;
      },
      std::chrono::seconds(10)));
  CHECK(categories == std::vector<std::string>{"compile", "test"});
  const auto status = agent.stop();
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
}
