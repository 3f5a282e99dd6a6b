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
  // The watch is armed once the state database exists (the recorder opens it first).
  REQUIRE(waitFor([&] { return std::filesystem::exists(dir.file("state/agent.db")); }, std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  writeFile(dir.file("drop/.step.log.tmp"), "error: failed to write /work/target: No space left on device (os error 28)\n");
  std::filesystem::rename(dir.file("drop/.step.log.tmp"), dir.file("drop/step.log"));
  writeFile(dir.file("drop/r1.xml"),
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
