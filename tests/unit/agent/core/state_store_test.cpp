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

TEST_CASE("state_store: a batch of results is stored in one go, and survives a restart") {
  test::TempDir dir;
  std::vector<wire::ResultRecord> batch(3);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].check = "c" + std::to_string(i);
    batch[i].status = wire::Status::Ok;
    batch[i].metrics = {{"count", static_cast<double>(i)}};
    batch[i].observed_at_ms = 1000 + static_cast<int64_t>(i);
  }
  {
    agent::state::StateStore store(dir.path());
    store.recordResults(batch);
    store.recordResults({});
  }
  agent::state::StateStore again(dir.path());
  sqlite::Statement count(again.db(), "SELECT count(*), min(check_name), max(observed_at_ms) FROM check_results");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 3);
  CHECK(count.text(1) == "c0");
  CHECK(count.int64(2) == 1002);
}
