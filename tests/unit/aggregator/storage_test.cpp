// The storage seam: $N placeholders on SQLite, exactly-once ledger inserts,
// transactions, and how a damaged database file is recognised and restored.
#include "aggregator/storage/database.h"
#include "aggregator/storage/sqlite/backup.h"
#include "aggregator/storage/sqlite/sqlite_connection.h"
#include "aggregator/storage/store.h"
#include "tests/support/damage.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <filesystem>

using namespace hale;
using namespace hale::aggregator;
using storage::StorageError;

namespace {
// A database with enough rows for pages in the middle to hold table data.
void fill(const std::string& path, int results = 3000) {
  storage::Store store(path);
  std::vector<storage::IngestItem> items(1);
  auto& item = items[0];
  item.node = "n1";
  item.region = "eu";
  for (int i = 1; i <= results; ++i) {
    item.seq = static_cast<uint64_t>(i);
    item.results = {wire::ResultRecord{"check-" + std::to_string(i % 50),
                                       "disk",
                                       wire::CheckStatus::Ok,
                                       wire::Component::Storage,
                                       std::string(40, 'm'),
                                       {},
                                       i}};
    store.ingest(items);
  }
}

int64_t scalar(storage::Connection& conn, const std::string& sql) {
  auto s = conn.prepare(sql);
  return s->step() ? s->int64(0) : -1;
}
}  // namespace

TEST_CASE("storage: $N placeholders bind by number in any order, repeated or not") {
  storage::sqlite::SqliteConnection conn(":memory:");
  auto s = conn.prepare("SELECT $2, $1, $2 || '!', $3");
  s->with(std::string("one"), int64_t{2}, 2.5);
  REQUIRE(s->step());
  CHECK(s->int64(0) == 2);
  CHECK(s->text(1) == "one");
  CHECK(s->text(2) == "2!");
  CHECK(s->real(3) == doctest::Approx(2.5));
  CHECK_FALSE(s->step());
  CHECK_THROWS_AS(s->bindInt(4, 1), std::logic_error);  // the text has no $4
  CHECK_THROWS_AS(conn.prepare("SELECT * FROM nowhere"), StorageError);
}

TEST_CASE("storage: a transaction rolls back unless committed") {
  storage::sqlite::SqliteConnection conn(":memory:");
  conn.prepare("CREATE TABLE t(v INTEGER)")->run();
  {
    storage::Transaction tx(conn);
    conn.prepare("INSERT INTO t VALUES(1)")->run();
  }
  CHECK(scalar(conn, "SELECT count(*) FROM t") == 0);
  {
    storage::Transaction tx(conn);
    conn.prepare("INSERT INTO t VALUES(1)")->run();
    tx.commit();
  }
  CHECK(scalar(conn, "SELECT count(*) FROM t") == 1);
}

TEST_CASE("storage: the (node, seq) ledger is exactly-once and contiguous across pages") {
  storage::Store store(":memory:");
  auto& nodes = store.nodes();
  CHECK(nodes.markReceived("n1", 1, 10));
  CHECK_FALSE(nodes.markReceived("n1", 1, 11));  // ON CONFLICT DO NOTHING: no change
  {
    auto tx = store.transaction();
    for (uint64_t seq = 2; seq <= 5000; ++seq) CHECK(nodes.markReceived("n1", seq, 10));
    CHECK(nodes.markReceived("n1", 5002, 10));
    tx.commit();
  }
  CHECK(nodes.contiguousFrom("n1", 0) == 5000);  // walks past the 4096-row page, stops at the gap
  CHECK(nodes.contiguousFrom("n1", 5001) == 5002);
  CHECK(nodes.contiguousFrom("n2", 0) == 0);
}

TEST_CASE("storage: a damaged database is recognised, intact and missing ones are not") {
  test::TempDir dir;
  CHECK_FALSE(storage::sqlite::findDamage(dir.file("missing.db")));
  fill(dir.file("agg.db"));
  CHECK_FALSE(storage::sqlite::findDamage(dir.file("agg.db")));

  test::writeFile(dir.file("text.db"), std::string(8192, 'x'));
  const auto not_a_db = storage::sqlite::findDamage(dir.file("text.db"));
  REQUIRE(not_a_db);
  CHECK(not_a_db->find("file is not a database") != std::string::npos);

  test::corruptMiddlePages(dir.file("agg.db"));
  const auto damage = storage::sqlite::findDamage(dir.file("agg.db"));
  REQUIRE(damage);
  CHECK_FALSE(damage->empty());
  try {
    storage::openDatabase(dir.file("agg.db"), storage::Verify::QuickCheck);
    FAIL("a damaged database opened");
  } catch (const StorageError& e) {
    CHECK(e.kind() == StorageError::Kind::Damaged);
    CHECK(e.location() == dir.file("agg.db"));
  }
}

TEST_CASE("storage: restoring over a damaged database sets it aside and restores the backup") {
  test::TempDir dir;
  fill(dir.file("agg.db"), 2000);
  storage::sqlite::backupTo(dir.file("agg.db"), dir.file("backup.db"));
  test::corruptMiddlePages(dir.file("agg.db"));
  const auto restored = storage::sqlite::restoreFrom(dir.file("backup.db"), dir.file("agg.db"));
  REQUIRE_FALSE(restored.set_aside.empty());
  CHECK(restored.set_aside.starts_with(dir.file("agg.db.damaged-")));
  CHECK(std::filesystem::exists(restored.set_aside));
  CHECK_FALSE(storage::sqlite::findDamage(dir.file("agg.db")));
  storage::Store store(dir.file("agg.db"));
  CHECK(store.nodes().find("n1")->max_seq == 2000);

  // Over an intact database nothing is set aside.
  CHECK(storage::sqlite::restoreFrom(dir.file("backup.db"), dir.file("agg.db")).set_aside.empty());
}
