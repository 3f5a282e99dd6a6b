#include "tests/support/postgres.h"
#include "tests/support/skip.h"
#include <doctest/doctest.h>
using namespace hale::test;
TEST_CASE("postgres_harness: a fresh cluster answers SQL, restarts, and refuses a wrong password") {
  if (!requireTool("/usr/lib/postgresql/15/bin/initdb", "postgresql-15")) return;
  Postgres pg;
  std::string out;
  REQUIRE(pg.psql("hale", "SELECT 40 + 2", &out) == 0);
  CHECK(out == "42\n");
  pg.restart();
  REQUIRE(pg.psql("hale", "SELECT current_user", &out) == 0);
  CHECK(out == "hale\n");
  const int rc = runCommand({"/bin/sh", "-c",
                             "PGPASSWORD=wrong /usr/lib/postgresql/15/bin/psql -X -h 127.0.0.1 -p " +
                                 std::to_string(pg.port()) + " -U hale -d hale -c 'SELECT 1'"});
  CHECK(rc != 0);
}
