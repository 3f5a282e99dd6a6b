#include "agent/state/command_guard.h"

#include <fmt/format.h>

namespace hale::agent::state {

CommandGuard::CommandGuard(StateStore& store)
    : store_(store), seen_(store.db(), "SELECT 1 FROM command_nonces WHERE nonce = ?"),
      remember_(store.db(), "INSERT INTO command_nonces(nonce, expires_at_ms) VALUES(?, ?)"),
      // A nonce only needs remembering until its command would be refused as expired anyway.
      prune_(store.db(), "DELETE FROM command_nonces WHERE expires_at_ms < ?") {}

uint64_t CommandGuard::epoch() { return static_cast<uint64_t>(store_.metaInt("command_epoch")); }

Status CommandGuard::admit(const wire::CommandSpec& spec, int64_t now_ms) {
  const uint64_t current = epoch();
  if (spec.epoch < current) return Error{fmt::format("stale epoch {} (current {})", spec.epoch, current)};
  const std::string nonce = crypto::toHex(spec.nonce);
  seen_.with(nonce);
  const bool replayed = seen_.step();
  seen_.reset();
  if (replayed) return Error{"replayed command (nonce already used)"};
  sqlite::transact(store_.db(), [&] {
    prune_.with(now_ms).run();
    remember_.with(nonce, spec.expires_at_ms).run();
    if (spec.epoch > current) store_.setMetaInt("command_epoch", static_cast<int64_t>(spec.epoch));
  });
  return {};
}

}  // namespace hale::agent::state
