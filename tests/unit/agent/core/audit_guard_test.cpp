#include "agent/state/audit_log.h"
#include "agent/state/command_guard.h"
#include "agent/state/state_store.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

using namespace hale;
using namespace hale::agent::state;

namespace {
void fill(AuditLog& log, int n) {
  for (int i = 0; i < n; ++i)
    log.append(1000 + i, "agent", "remediation", "web", "executed", "restart attempt " + std::to_string(i));
}
}  // namespace

TEST_CASE("audit_log: an untouched log verifies") {
  test::TempDir dir;
  StateStore store(dir.path());
  AuditLog log(store.db());
  CHECK(log.verify().ok);  // empty
  fill(log, 10);
  const auto v = log.verify();
  CHECK(v.ok);
  CHECK(v.rows == 10);
  const auto tail = log.tail(3);
  REQUIRE(tail.size() == 3);
  CHECK(tail.front().seq == 8);
  CHECK(tail.back().seq == 10);
  CHECK(tail.back().prev_hash == tail[1].hash);
}

TEST_CASE("audit_log: edits, deletions, insertions, reordering and truncation are detected") {
  test::TempDir dir;
  StateStore store(dir.path());
  AuditLog log(store.db());
  fill(log, 6);
  auto& db = store.db();

  SUBCASE("edit") {
    db.exec("UPDATE audit SET detail = 'nothing happened' WHERE seq = 3");
    const auto v = log.verify();
    CHECK_FALSE(v.ok);
    CHECK(v.problem.find("row 3 was edited") != std::string::npos);
  }
  SUBCASE("delete a middle row") {
    db.exec("DELETE FROM audit WHERE seq = 4");
    CHECK(log.verify().problem.find("deleted or inserted") != std::string::npos);
  }
  SUBCASE("delete the last row") {
    db.exec("DELETE FROM audit WHERE seq = 6");
    CHECK(log.verify().problem.find("tail was cut") != std::string::npos);
  }
  SUBCASE("reorder two rows") {
    db.exec(
        "UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; "
        "UPDATE audit SET seq = 3 WHERE seq = -2");
    CHECK_FALSE(log.verify().ok);
  }
  SUBCASE("insert a forged row with a recomputed hash") {
    // Make room at 4, keeping the rows intact (in two steps: seq is unique).
    db.exec("UPDATE audit SET seq = -(seq + 1) WHERE seq >= 4; UPDATE audit SET seq = -seq WHERE seq < 0");
    AuditEntry forged;
    forged.seq = 4;
    forged.at_ms = 1;
    forged.actor = "agent";
    forged.action = "remediation";
    forged.subject = "web";
    forged.outcome = "executed";
    forged.detail = "forged";
    forged.prev_hash = log.tail(100)[2].hash;
    forged.hash = AuditLog::hashOf(forged);
    sqlite::Statement ins(db, "INSERT INTO audit VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.with(forged.seq, forged.at_ms, forged.actor, forged.action, forged.subject, forged.outcome, forged.detail,
             forged.prev_hash, forged.hash)
        .run();
    const auto v = log.verify();
    CHECK_FALSE(v.ok);
    CHECK(v.problem.find("row 5") != std::string::npos);  // the next row no longer chains
  }
}

TEST_CASE("command_guard: refuses replayed nonces and older epochs, across restarts") {
  test::TempDir dir;
  wire::CommandSpec cmd;
  cmd.epoch = 5;
  cmd.nonce = std::vector<uint8_t>(16, 0xAB);
  cmd.expires_at_ms = 10'000;
  {
    StateStore store(dir.path());
    CommandGuard guard(store);
    CHECK(guard.admit(cmd, 1000).ok());
    CHECK(guard.admit(cmd, 1000).error().message.find("replayed") != std::string::npos);
    CHECK(guard.epoch() == 5);
  }
  StateStore store(dir.path());
  CommandGuard guard(store);
  CHECK(guard.admit(cmd, 2000).error().message.find("replayed") != std::string::npos);
  wire::CommandSpec older = cmd;
  older.epoch = 4;
  older.nonce = std::vector<uint8_t>(16, 0x01);
  CHECK(guard.admit(older, 2000).error().message.find("stale epoch 4") != std::string::npos);
  wire::CommandSpec newer = older;
  newer.epoch = 6;
  CHECK(guard.admit(newer, 2000).ok());
  CHECK(guard.epoch() == 6);
}
