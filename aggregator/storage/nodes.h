#pragma once
// Table owner of `nodes` (who reported, from where, when, online or not) and
// `received`, the (node, seq) ledger that makes storage exactly-once.
#include "aggregator/storage/sql/connection.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hale::aggregator::storage {

struct NodeRow {
  std::string node;
  std::string region;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  bool online = false;
  int64_t status_changed_ms = 0;
  std::string agent_version;
  int64_t heartbeat_interval_ms = 0;
  uint64_t max_seq = 0;
  int worst_status = 0;  ///< worst latest result: 0 ok .. 3 unknown, -1 none
  int checks = 0;
  uint64_t messages = 0;  ///< distinct sequence numbers stored; max_seq - messages are missing
};

struct NodeFilter {
  std::string region;  ///< empty: any
  std::optional<bool> online;
  size_t limit = 100;
  size_t offset = 0;
};

class NodeRepository {
 public:
  explicit NodeRepository(Connection& conn);

  /// Enters (node, seq) in the ledger; false when it is there already (a redelivery).
  bool markReceived(const std::string& node, uint64_t seq, int64_t received_ms);
  /// A message from `node` at `seen_ms`: creates the node or moves last_seen and max_seq forward.
  void recordSeen(const std::string& node, const std::string& region, int64_t seen_ms, uint64_t seq);
  void recordHeartbeat(const std::string& node, const std::string& agent_version, int64_t interval_ms);
  void setOnline(const std::string& node, const std::string& region, bool online, int64_t at_ms);

  /// node -> region, for checking that a node stays in its region.
  std::unordered_map<std::string, std::string> regions();
  std::vector<NodeRow> list(const NodeFilter& filter);
  size_t count(const NodeFilter& filter);
  std::optional<NodeRow> find(const std::string& id);
  /// The highest seq such that every seq in (after, seq] of this node is stored.
  uint64_t contiguousFrom(const std::string& node, uint64_t after);

 private:
  Connection& conn_;
  StatementPtr mark_received_, upsert_seen_, heartbeat_, set_online_, regions_, select_, seqs_after_;
};

}  // namespace hale::aggregator::storage
