#pragma once
// Signed commands, aggregator -> agents. The signature covers the exact bytes
// of the serialized Command, which travel inside the SignedCommand; an agent
// parses only what it has verified. Replay (nonce), rollback (epoch) and
// freshness (expiry) are checked by the receiver's CommandGuard, which holds
// the state that must persist.
#include "schemas/command_generated.h"
#include "shared/crypto/crypto.h"
#include "shared/util/result.h"

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace hale::wire {

inline constexpr size_t kMaxCommandBytes = 16 * 1024;
inline constexpr size_t kNonceBytes = 16;

struct ApproveAction {
  uint64_t attempt_id = 0;
};
struct TriggerAction {
  std::string check;
};
struct AutoRemediationAction {
  bool enabled = true;
  std::string check;
};
struct RegionRoleAction {
  std::string region;
  RegionRole role = RegionRole::Standby;
};
struct DrillAction {
  std::string check;
};
using CommandAction = std::variant<ApproveAction, TriggerAction, AutoRemediationAction, RegionRoleAction, DrillAction>;

struct CommandSpec {
  std::string target_region;
  std::string target_node;  ///< empty: every node of the region
  uint64_t epoch = 0;
  std::vector<uint8_t> nonce;  ///< kNonceBytes random bytes; filled in when empty
  int64_t issued_at_ms = 0;
  int64_t expires_at_ms = 0;
  CommandAction action;
};

std::string_view actionName(const CommandAction& action);

/// Serializes and signs. The key must be private.
std::vector<uint8_t> buildSignedCommand(CommandSpec spec, const crypto::Key& key);

/// Checks structure, signature (by any of `keys`), target and time window.
/// Epoch and nonce are the caller's to check against persisted state.
Result<CommandSpec> verifyCommand(std::span<const uint8_t> bytes, std::span<const crypto::Key> keys,
                                  const std::string& node, const std::string& region, int64_t now_ms);

}  // namespace hale::wire
