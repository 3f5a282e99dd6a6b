#include "agent/state/state_store.h"
#include "aggregator/storage/sqlite/schema.h"
#include "shared/sqlite/database.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace hale;

namespace {
// The schema as SQLite describes it, for comparing two databases.
std::string schemaOf(sqlite::Database& db) {
  sqlite::Statement s(db, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name");
  std::string out;
  while (s.step()) out += s.text(0) + " " + s.text(1) + " " + s.text(2) + "\n";
  return out;
}

void checkEveryPath(std::span<const std::string_view> migrations) {
  test::TempDir dir;
  sqlite::Database fresh(dir.file("fresh.db"));
  sqlite::migrate(fresh, migrations);
  CHECK(fresh.userVersion() == static_cast<int64_t>(migrations.size()));
  for (size_t from = 0; from <= migrations.size(); ++from) {
    CAPTURE(from);
    sqlite::Database db(dir.file("from-" + std::to_string(from) + ".db"));
    sqlite::migrate(db, migrations.subspan(0, from));
    CHECK(db.userVersion() == static_cast<int64_t>(from));
    sqlite::migrate(db, migrations);
    CHECK(db.userVersion() == static_cast<int64_t>(migrations.size()));
    CHECK(schemaOf(db) == schemaOf(fresh));
  }
}
}  // namespace

TEST_CASE("sqlite: aggregator migrations apply from empty and from each earlier version") {
  checkEveryPath(aggregator::storage::sqlite::migrations());
}

TEST_CASE("sqlite: agent migrations apply from empty and from each earlier version") {
  checkEveryPath(agent::state::migrations());
}

TEST_CASE("sqlite: a database newer than the binary is refused") {
  test::TempDir dir;
  sqlite::Database db(dir.file("x.db"));
  db.exec("PRAGMA user_version = 99");
  CHECK_THROWS_WITH_AS(sqlite::migrate(db, aggregator::storage::sqlite::migrations()),
                       doctest::Contains("newer than this binary"), sqlite::SqliteError);
}

TEST_CASE("sqlite: a transaction rolls back unless committed and a failed migration leaves the version") {
  test::TempDir dir;
  sqlite::Database db(dir.file("x.db"));
  db.exec("CREATE TABLE t(v INTEGER)");
  {
    sqlite::Transaction tx(db);
    db.exec("INSERT INTO t VALUES(1)");
  }
  sqlite::Statement count(db, "SELECT count(*) FROM t");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 0);
  constexpr std::string_view bad[] = {"CREATE TABLE a(x)", "CREATE TABLE broken("};
  CHECK_THROWS(sqlite::migrate(db, bad));
  CHECK(db.userVersion() == 1);
}

TEST_CASE("sqlite: statements are reusable with new bindings") {
  sqlite::Database db(":memory:");
  db.exec("CREATE TABLE t(k TEXT, v INTEGER)");
  sqlite::Statement ins(db, "INSERT INTO t VALUES(?, ?)");
  for (int i = 0; i < 5; ++i) CHECK(ins.with("k" + std::to_string(i), i).run() == 1);
  sqlite::Statement sum(db, "SELECT sum(v) FROM t WHERE k != ?");
  sum.with("k0");
  REQUIRE(sum.step());
  CHECK(sum.int64(0) == 10);
}

TEST_CASE("sqlite: an online backup is consistent while a writer keeps writing, and restores") {
  test::TempDir dir;
  sqlite::Database db(dir.file("live.db"));
  db.exec("CREATE TABLE t(v INTEGER)");
  {
    sqlite::Transaction tx(db);
    sqlite::Statement ins(db, "INSERT INTO t VALUES(?)");
    for (int i = 0; i < 20000; ++i) ins.with(i).run();
    tx.commit();
  }
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    sqlite::Database w(dir.file("live.db"));
    sqlite::Statement ins(w, "INSERT INTO t VALUES(-1)");
    while (!stop) ins.with().run();
  });
  sqlite::backup(db, dir.file("copy.db"));
  stop = true;
  writer.join();
  sqlite::Database copy(dir.file("copy.db"));
  sqlite::Statement n(copy, "SELECT count(*) FROM t WHERE v >= 0");
  REQUIRE(n.step());
  CHECK(n.int64(0) == 20000);

  sqlite::Database fresh(dir.file("fresh.db"));
  sqlite::restore(dir.file("copy.db"), fresh);
  sqlite::Statement m(fresh, "SELECT count(*) FROM t WHERE v >= 0");
  REQUIRE(m.step());
  CHECK(m.int64(0) == 20000);

  test::writeFile(dir.file("garbage.db"), std::string(8192, 'x'));
  CHECK_THROWS(sqlite::restore(dir.file("garbage.db"), fresh));
}
