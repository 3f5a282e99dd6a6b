// A damaged aggregator database: `hale-aggregator run` refuses to start (exit
// 3) with a message naming the file and the restore command, and following
// that message (restore from a backup made by `hale-aggregator backup`) brings
// the aggregator back with the data of the backup.
#include "aggregator/storage/store.h"
#include "tests/support/damage.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <filesystem>

using namespace hale;
using namespace hale::test;
using nlohmann::json;

namespace {
// Enough telemetry for the file to have table pages in its middle.
void fill(const std::string& path) {
  aggregator::storage::Store store(path);
  std::vector<aggregator::storage::IngestItem> batch(1);
  auto& item = batch[0];
  item.node = "web-1";
  item.region = "eu";
  for (uint64_t seq = 1; seq <= 3000; ++seq) {
    item.seq = seq;
    item.results = {wire::ResultRecord{"disk",
                                       "disk",
                                       wire::CheckStatus::Ok,
                                       wire::Component::Storage,
                                       std::string(40, 'm'),
                                       {},
                                       static_cast<int64_t>(seq)}};
    store.ingest(batch);
  }
}
}  // namespace

TEST_CASE("damaged database: run exits 3 and says how to restore, and the restore it names works") {
  TempDir dir;
  const std::string db = dir.file("agg.db"), cfg = dir.file("aggregator.toml"), backup = dir.file("backup.db");
  const uint16_t port = freePort();
  writeFile(cfg,
            "[aggregator]\ndatabase = \"" + db + "\"\n[http]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n");
  fill(db);
  const std::string bin = binaryDir() + "/hale-aggregator";
  REQUIRE(runCommand({bin, "backup", "--config", cfg, backup}, dir.file("backup.log")) == 0);
  corruptMiddlePages(db);

  REQUIRE(runCommand({bin, "run", "--config", cfg}, dir.file("run.log")) == 3);
  const std::string said = readFile(dir.file("run.log"));
  INFO(said);
  CHECK(said.find("the database " + db + " is damaged") != std::string::npos);
  CHECK(said.find("hale-aggregator restore --config " + cfg + " BACKUP.db") != std::string::npos);
  CHECK_FALSE(portAcceptsConnections(port));

  // The message's command, with the backup's name for BACKUP.db.
  REQUIRE(runCommand({bin, "restore", "--config", cfg, backup}, dir.file("restore.log")) == 0);
  const std::string restored = readFile(dir.file("restore.log"));
  INFO(restored);
  CHECK(restored.find("moved to " + db + ".damaged-") != std::string::npos);
  size_t set_aside = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    if (entry.path().filename().string().starts_with("agg.db.damaged-") &&
        !entry.path().filename().string().ends_with("-wal") && !entry.path().filename().string().ends_with("-shm"))
      ++set_aside;
  CHECK(set_aside == 1);  // kept for inspection

  Process aggregator({bin, "run", "--config", cfg}, dir.file("run2.log"));
  REQUIRE(waitFor([&] { return httpGet(port, "/api/v1/nodes/web-1").status == 200; }, std::chrono::seconds(15)));
  CHECK(json::parse(httpGet(port, "/api/v1/nodes/web-1").body)["last_seq"] == 3000);
  const auto stopped = aggregator.stop(SIGTERM);
  REQUIRE(stopped.has_value());
  CHECK(WIFEXITED(*stopped));
  CHECK(WEXITSTATUS(*stopped) == 0);
}
