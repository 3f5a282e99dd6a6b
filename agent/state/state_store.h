#pragma once
// The agent's durable state in one SQLite file (WAL): check history, the
// per-node sequence counter and the telemetry outbox. Everything the agent
// must not forget across a crash or restart lives here.
#include "agent/state/space_reserve.h"
#include "agent/state/state_open.h"
#include "shared/sqlite/database.h"
#include "shared/wire/envelope.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::state {

std::span<const std::string_view> migrations();

struct OutboxEntry {
  uint64_t seq = 0;
  std::vector<uint8_t> payload;
};

struct StateOptions {
  /// Disk kept free for the state (<state_dir>/space-reserve); 0: none.
  uint64_t reserve_bytes = 512 * 1024;
  /// Read every page at open (PRAGMA quick_check): the daemon does, short commands do not.
  bool deep_check = false;
};

class StateStore {
 public:
  /// Opens <state_dir>/agent.db, creating the directory and migrating the
  /// schema. A damaged file is set aside first (see resetAtOpen()).
  explicit StateStore(const std::string& state_dir, size_t outbox_max_messages = 100'000, StateOptions options = {});

  /// Set when agent.db was damaged and replaced by a fresh one at open.
  const std::optional<StateReset>& resetAtOpen() const { return reset_; }
  /// True from a write that failed for lack of space until the reserve is held again.
  bool spaceLow() const { return space_low_; }
  /// Takes the reserve back when the file system has room again; true when it did.
  bool maintainSpace();

  /// The next per-node sequence number (starts at 1, never reused, safe across processes).
  uint64_t nextSeq();
  /// Atomically increments a meta counter and returns the new value.
  uint64_t increment(std::string_view key);
  void recordBuild(const wire::BuildRecord& build);

  /// Stores a message until it is acknowledged; evicts the oldest beyond the bound.
  void outboxPut(uint64_t seq, std::span<const uint8_t> payload);
  /// Takes the next sequence number and stores the message `build(seq)` in one
  /// transaction, so a crash can never leave a number used but its message lost
  /// (a gap the aggregator would count as missing forever). Returns the seq.
  uint64_t outboxAppend(const std::function<std::vector<uint8_t>(uint64_t seq)>& build);
  void outboxRemove(uint64_t seq);
  /// Removes everything up to and including `seq`.
  void outboxAckThrough(uint64_t seq);
  /// Oldest first, at most `limit`, with seq > `after`.
  std::vector<OutboxEntry> outboxAfter(uint64_t after, size_t limit);
  size_t outboxDepth();
  /// Lowest seq in the outbox, 0 when empty.
  uint64_t outboxFirstSeq();
  uint64_t outboxEvicted();

  /// Stores a new open issue; returns its id (per node, never reused).
  uint64_t openIssue(const wire::IssueRecord& issue);
  /// Writes status, message and closed_at_ms of an existing issue.
  void updateIssue(const wire::IssueRecord& issue);
  std::vector<wire::IssueRecord> openIssues();

  /// Small persistent integers (counters, flags, the command epoch); 0 when unset.
  int64_t metaInt(std::string_view key);
  void setMetaInt(std::string_view key, int64_t value);

  sqlite::Database& db() { return db_; }

 private:
  void outboxInsert(uint64_t seq, std::span<const uint8_t> payload);  // inside a transaction
  std::string prepare(const std::string& state_dir, bool deep_check);
  bool makeRoom();

  SpaceReserve reserve_;
  std::optional<StateReset> reset_;
  bool space_low_ = false;
  sqlite::Database db_;
  size_t outbox_max_;
  sqlite::Statement get_meta_, set_meta_, outbox_insert_, outbox_delete_, outbox_ack_, outbox_after_, outbox_count_,
      outbox_first_, outbox_evict_, issue_open_, insert_build_, issue_update_, issues_open_;
};

}  // namespace hale::agent::state
