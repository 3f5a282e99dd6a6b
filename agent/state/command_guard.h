#pragma once
// What a verified command must also satisfy, against state that survives
// restarts: its epoch never goes back, and its nonce was never seen before.
#include "agent/state/state_store.h"
#include "shared/wire/command.h"

namespace hale::agent::state {

class CommandGuard {
 public:
  explicit CommandGuard(StateStore& store);
  /// Refuses a stale epoch or a replayed nonce; otherwise records both.
  Status admit(const wire::CommandSpec& spec, int64_t now_ms);
  uint64_t epoch();

 private:
  StateStore& store_;
  sqlite::Statement seen_, remember_, prune_;
};

}  // namespace hale::agent::state
