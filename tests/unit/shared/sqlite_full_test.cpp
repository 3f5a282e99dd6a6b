// A write that fails for lack of space is tried once more when the
// database's room maker freed some: alone for a statement outside a
// transaction, the whole transaction for transact(). PRAGMA max_page_count
// makes SQLite answer SQLITE_FULL exactly as a full disk does.
#include "shared/sqlite/database.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

using namespace hale;

namespace {
struct FullDb {
  test::TempDir dir;
  sqlite::Database db{dir.file("full.db")};
  int room_calls = 0;
  bool room_to_give = true;

  FullDb() {
    db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, blob BLOB NOT NULL)");
    fill();
    db.onFull([this] {
      ++room_calls;
      if (!room_to_give) return false;
      db.exec("PRAGMA max_page_count = 1000000");
      return true;
    });
  }
  /// No page left: the next row that needs a new page fails with SQLITE_FULL.
  void fill() {
    sqlite::Statement count(db, "PRAGMA page_count");
    REQUIRE(count.step());
    db.exec("PRAGMA max_page_count = " + std::to_string(count.int64(0)));
  }
  int64_t rows() {
    sqlite::Statement s(db, "SELECT count(*) FROM t");
    return s.step() ? s.int64(0) : -1;
  }
  void insertBig(sqlite::Statement& insert) { insert.with(std::string(64 * 1024, 'x')).run(); }
};
}  // namespace

TEST_CASE("sqlite_full: a statement outside a transaction is tried again once room was made") {
  FullDb f;
  sqlite::Statement insert(f.db, "INSERT INTO t(blob) VALUES(?)");
  f.insertBig(insert);
  CHECK(f.room_calls == 1);
  CHECK(f.rows() == 1);
}

TEST_CASE("sqlite_full: without room the error reaches the caller as SQLITE_FULL") {
  FullDb f;
  f.room_to_give = false;
  sqlite::Statement insert(f.db, "INSERT INTO t(blob) VALUES(?)");
  try {
    f.insertBig(insert);
    FAIL("the insert should have failed");
  } catch (const sqlite::SqliteError& e) {
    CHECK(sqlite::isFull(e.code()));
    CHECK_FALSE(sqlite::isDamaged(e.code()));
  }
  CHECK(f.room_calls == 1);
  CHECK(f.rows() == 0);
}

TEST_CASE("sqlite_full: transact runs the whole transaction again, so nothing is applied twice") {
  FullDb f;
  sqlite::Statement insert(f.db, "INSERT INTO t(blob) VALUES(?)");
  int runs = 0;
  const int64_t rows = sqlite::transact(f.db, [&] {
    ++runs;
    for (int i = 0; i < 3; ++i) f.insertBig(insert);
    return f.rows();
  });
  CHECK(runs == 2);
  CHECK(f.room_calls == 1);  // inside the transaction the statement itself is not retried
  CHECK(rows == 3);
  CHECK(f.rows() == 3);
  CHECK_FALSE(f.db.inTransaction());
}

TEST_CASE("sqlite_full: transact gives up after one more try and leaves no transaction open") {
  FullDb f;
  f.room_to_give = false;
  sqlite::Statement insert(f.db, "INSERT INTO t(blob) VALUES(?)");
  CHECK_THROWS_AS(sqlite::transact(f.db, [&] { f.insertBig(insert); }), sqlite::SqliteError);
  CHECK_FALSE(f.db.inTransaction());
  f.db.exec("PRAGMA max_page_count = 1000000");
  sqlite::transact(f.db, [&] { f.insertBig(insert); });  // a new transaction starts cleanly
  CHECK(f.rows() == 1);
}
