#include "agent/state/state_store.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

using namespace hale;

TEST_CASE("state_store: sequence numbers survive a restart and never repeat") {
  test::TempDir dir;
  {
    agent::state::StateStore store(dir.path());
    CHECK(store.nextSeq() == 1);
    CHECK(store.nextSeq() == 2);
  }
  agent::state::StateStore again(dir.path());
  CHECK(again.nextSeq() == 3);
}

TEST_CASE("state_store: the outbox keeps order, acks, and evicts the oldest with a count") {
  test::TempDir dir;
  agent::state::StateStore store(dir.path(), 10);
  for (uint64_t seq = 1; seq <= 15; ++seq) {
    const std::vector<uint8_t> payload{static_cast<uint8_t>(seq)};
    store.outboxPut(seq, payload);
  }
  CHECK(store.outboxDepth() == 10);
  CHECK(store.outboxEvicted() == 5);
  auto entries = store.outboxAfter(0, 100);
  REQUIRE(entries.size() == 10);
  CHECK(entries.front().seq == 6);
  CHECK(entries.back().seq == 15);
  CHECK(entries.front().payload == std::vector<uint8_t>{6});
  store.outboxAckThrough(8);
  CHECK(store.outboxAfter(0, 100).front().seq == 9);
  store.outboxRemove(12);
  CHECK(store.outboxDepth() == 6);
  CHECK(store.outboxAfter(10, 2).size() == 2);
  CHECK(store.outboxAfter(10, 2)[1].seq == 13);
}

TEST_CASE("state_store: outboxAppend takes a sequence number only together with its message") {
  test::TempDir dir;
  agent::state::StateStore store(dir.path());
  CHECK(store.outboxAppend([](uint64_t seq) { return std::vector<uint8_t>{static_cast<uint8_t>(seq)}; }) == 1);
  // The message cannot be built: the number is not consumed, so no gap appears.
  CHECK_THROWS(store.outboxAppend([](uint64_t) -> std::vector<uint8_t> { throw std::runtime_error("no"); }));
  CHECK(store.outboxAppend([](uint64_t seq) { return std::vector<uint8_t>{static_cast<uint8_t>(seq)}; }) == 2);
  const auto entries = store.outboxAfter(0, 10);
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].seq == 2);
  CHECK(entries[1].payload == std::vector<uint8_t>{2});
  CHECK(store.nextSeq() == 3);
}

TEST_CASE("state_store: no local result history: the table is gone, also from an older database") {
  test::TempDir dir;
  {
    // A database as an older agent left it: migrations 1-5 only, with history rows.
    sqlite::Database old(dir.file("agent.db"));
    sqlite::migrate(old, agent::state::migrations().first(5));
    sqlite::Statement(old,
                      "INSERT INTO check_results(check_name, status, message, metrics, observed_at_ms, duration_us) "
                      "VALUES('c', 0, 'ok', '{}', 1, 1)")
        .run();
  }
  agent::state::StateStore store(dir.path());
  sqlite::Statement tables(store.db(), "SELECT count(*) FROM sqlite_master WHERE name LIKE 'check_results%'");
  REQUIRE(tables.step());
  CHECK(tables.int64(0) == 0);
}
