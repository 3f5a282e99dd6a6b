// The agent keeps watching whatever state it finds: a damaged agent.db is set
// aside and a fresh chain begins with the reset; a full disk gets the space
// reserve back and no audit entry is lost while it stays full.
#include "agent/state/audit_log.h"
#include "agent/state/state_store.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

using namespace hale;
using namespace hale::agent;
namespace fs = std::filesystem;

namespace {
void overwrite(const std::string& path, std::streamoff offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A state with a few hundred outbox messages, closed cleanly (WAL checkpointed into agent.db).
void makeState(const std::string& dir) {
  state::StateStore store(dir);
  for (int i = 0; i < 300; ++i)
    store.outboxAppend([](uint64_t seq) { return std::vector<uint8_t>(500, static_cast<uint8_t>(seq)); });
  state::AuditLog(store.db()).append(1, "agent", "remediation", "web", "executed", "before the damage");
}

void checkFreshChainStartsWithReset(state::StateStore& store, const std::string& dir) {
  REQUIRE(store.resetAtOpen().has_value());
  const auto& reset = *store.resetAtOpen();
  CHECK(fs::exists(reset.damaged_path));  // kept for inspection
  CHECK(state::damagedStateFiles(dir) == std::vector<std::string>{reset.damaged_path});
  state::AuditLog audit(store.db());
  const auto entries = audit.tail(10);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].seq == 1);
  CHECK(entries[0].action == "state-reset");
  CHECK(entries[0].subject == reset.damaged_path);
  CHECK(audit.verify().ok);
  CHECK(store.nextSeq() == 1);  // fresh state
}
}  // namespace

TEST_CASE("state_recovery: a file that is not a database is set aside and a fresh chain starts with the reset") {
  test::TempDir dir;
  makeState(dir.path());
  overwrite(dir.file("agent.db"), 0, "this is no longer SQLite");
  state::StateStore store(dir.path(), 100'000, {.reserve_bytes = 0, .deep_check = false});
  checkFreshChainStartsWithReset(store, dir.path());
  CHECK(store.resetAtOpen()->reason.find("not a database") != std::string::npos);
}

TEST_CASE("state_recovery: a damaged page in the middle is found by the daemon's deep check") {
  test::TempDir dir;
  makeState(dir.path());
  const auto size = fs::file_size(dir.file("agent.db"));
  REQUIRE(size > 20 * 4096);
  overwrite(dir.file("agent.db"), static_cast<std::streamoff>(size / 2 / 4096 * 4096), std::string(4096, '\x5a'));
  {
    // A short command reads only the schema and does not notice.
    state::StateStore quick(dir.path(), 100'000, {.reserve_bytes = 0, .deep_check = false});
    CHECK_FALSE(quick.resetAtOpen().has_value());
  }
  state::StateStore store(dir.path(), 100'000, {.reserve_bytes = 0, .deep_check = true});
  checkFreshChainStartsWithReset(store, dir.path());
  // The next start finds healthy state and leaves it alone.
}

TEST_CASE("state_recovery: healthy state is opened as it is") {
  test::TempDir dir;
  makeState(dir.path());
  state::StateStore store(dir.path(), 100'000, {.reserve_bytes = 0, .deep_check = true});
  CHECK_FALSE(store.resetAtOpen().has_value());
  CHECK(state::damagedStateFiles(dir.path()).empty());
  CHECK(store.outboxDepth() == 300);
}

TEST_CASE("state_recovery: a full disk gets the reserve, audit entries wait in order until they can be written") {
  test::TempDir dir;
  state::StateStore store(dir.path(), 100'000, {.reserve_bytes = 64 * 1024, .deep_check = false});
  state::AuditLog audit(store.db());
  REQUIRE(fs::exists(dir.file("space-reserve")));
  audit.append(1, "agent", "remediation", "disk", "fired", "first");
  // SQLite answers SQLITE_FULL at max_page_count exactly as on a full disk;
  // an entry with a long output tail needs new pages.
  sqlite::Statement pages(store.db(), "PRAGMA page_count");
  REQUIRE(pages.step());
  store.db().exec("PRAGMA max_page_count = " + std::to_string(pages.int64(0)));
  const std::string output(20'000, 'o');
  const auto held = audit.append(2, "agent", "remediation", "disk", "executed", "clean: deleted 3 files " + output);
  CHECK(held.seq == 0);                                // not written yet
  CHECK_FALSE(fs::exists(dir.file("space-reserve")));  // given back to SQLite
  CHECK(store.spaceLow());
  audit.append(3, "agent", "remediation", "disk", "healed", "check ok");  // waits behind the held one
  CHECK(audit.pendingCount() == 2);
  CHECK_THROWS(store.outboxAppend([](uint64_t) { return std::vector<uint8_t>(100'000, 1); }));

  store.db().exec("PRAGMA max_page_count = 1000000");  // the plan freed the disk
  CHECK(audit.flushPending());
  CHECK(audit.pendingCount() == 0);
  const auto entries = audit.tail(10);
  REQUIRE(entries.size() == 3);
  CHECK(entries[1].detail == "clean: deleted 3 files " + output);
  CHECK(entries[1].at_ms == 2);  // when it happened, not when it was written
  CHECK(entries[2].outcome == "healed");
  CHECK(audit.verify().ok);
  CHECK(store.maintainSpace());
  CHECK_FALSE(store.spaceLow());
  CHECK(fs::exists(dir.file("space-reserve")));
}
