#include "aggregator/storage/nodes.h"

#include <fmt/format.h>

namespace hale::aggregator::storage {
namespace {
constexpr std::string_view kNodeColumns =
    "n.node, n.region, n.first_seen_ms, n.last_seen_ms, n.online, n.status_changed_ms, n.agent_version, "
    "n.heartbeat_interval_ms, n.max_seq, "
    "(SELECT max(status) FROM latest_results l WHERE l.node = n.node), "
    "(SELECT count(*) FROM latest_results l WHERE l.node = n.node), "
    "(SELECT count(*) FROM received r WHERE r.node = n.node)";

// WHERE clause shared by the listing and its count; $1 region, $2 online (-1: any).
constexpr std::string_view kNodeWhere = "WHERE ($1 = '' OR n.region = $1) AND ($2 < 0 OR n.online = $2)";

// The ledger is read in pages: a node with a long gap-free history is walked a page at a time.
constexpr int64_t kSeqPage = 4096;

NodeRow readNode(const Statement& s) {
  NodeRow n;
  n.node = s.text(0);
  n.region = s.text(1);
  n.first_seen_ms = s.int64(2);
  n.last_seen_ms = s.int64(3);
  n.online = s.int64(4) != 0;
  n.status_changed_ms = s.int64(5);
  n.agent_version = s.text(6);
  n.heartbeat_interval_ms = s.int64(7);
  n.max_seq = static_cast<uint64_t>(s.int64(8));
  n.worst_status = s.isNull(9) ? -1 : static_cast<int>(s.int64(9));
  n.checks = static_cast<int>(s.int64(10));
  n.messages = static_cast<uint64_t>(s.int64(11));
  return n;
}

int64_t onlineFilter(const NodeFilter& f) { return f.online ? static_cast<int64_t>(*f.online) : int64_t{-1}; }
}  // namespace

NodeRepository::NodeRepository(Connection& conn)
    : conn_(conn), mark_received_(conn.prepare(
                       "INSERT INTO received(node, seq, received_ms) VALUES($1, $2, $3) ON CONFLICT DO NOTHING")),
      upsert_seen_(conn.prepare(
          "INSERT INTO nodes(node, region, first_seen_ms, last_seen_ms, max_seq) VALUES($1, $2, $3, $3, $4) "
          "ON CONFLICT(node) DO UPDATE SET "
          "last_seen_ms = CASE WHEN excluded.last_seen_ms > nodes.last_seen_ms "
          "THEN excluded.last_seen_ms ELSE nodes.last_seen_ms END, "
          "max_seq = CASE WHEN excluded.max_seq > nodes.max_seq THEN excluded.max_seq ELSE nodes.max_seq END")),
      heartbeat_(conn.prepare("UPDATE nodes SET agent_version = $2, heartbeat_interval_ms = $3 WHERE node = $1")),
      set_online_(
          conn.prepare("INSERT INTO nodes(node, region, first_seen_ms, last_seen_ms, online, status_changed_ms) "
                       "VALUES($1, $2, $3, $3, $4, $3) ON CONFLICT(node) DO UPDATE SET online = excluded.online, "
                       "status_changed_ms = excluded.status_changed_ms")),
      regions_(conn.prepare("SELECT node, region FROM nodes")),
      select_(conn.prepare(fmt::format("SELECT {} FROM nodes n WHERE n.node = $1", kNodeColumns))),
      seqs_after_(conn.prepare("SELECT seq FROM received WHERE node = $1 AND seq > $2 ORDER BY seq LIMIT $3")) {}

bool NodeRepository::markReceived(const std::string& node, uint64_t seq, int64_t received_ms) {
  return mark_received_->with(node, seq, received_ms).run() > 0;
}

void NodeRepository::recordSeen(const std::string& node, const std::string& region, int64_t seen_ms, uint64_t seq) {
  upsert_seen_->with(node, region, seen_ms, seq).run();
}

void NodeRepository::recordHeartbeat(const std::string& node, const std::string& agent_version, int64_t interval_ms) {
  heartbeat_->with(node, agent_version, interval_ms).run();
}

void NodeRepository::setOnline(const std::string& node, const std::string& region, bool online, int64_t at_ms) {
  set_online_->with(node, region, at_ms, static_cast<int64_t>(online)).run();
}

std::unordered_map<std::string, std::string> NodeRepository::regions() {
  std::unordered_map<std::string, std::string> out;
  regions_->reset();
  while (regions_->step()) out.emplace(regions_->text(0), regions_->text(1));
  regions_->reset();
  return out;
}

std::vector<NodeRow> NodeRepository::list(const NodeFilter& filter) {
  // Filters vary per call; a prepared-once statement is not worth it for the listing.
  auto s = conn_.prepare(
      fmt::format("SELECT {} FROM nodes n {} ORDER BY n.region, n.node LIMIT $3 OFFSET $4", kNodeColumns, kNodeWhere));
  s->with(filter.region, onlineFilter(filter), filter.limit, filter.offset);
  std::vector<NodeRow> out;
  while (s->step()) out.push_back(readNode(*s));
  return out;
}

size_t NodeRepository::count(const NodeFilter& filter) {
  auto s = conn_.prepare(fmt::format("SELECT count(*) FROM nodes n {}", kNodeWhere));
  s->with(filter.region, onlineFilter(filter));
  return s->step() ? static_cast<size_t>(s->int64(0)) : 0;
}

std::optional<NodeRow> NodeRepository::find(const std::string& id) {
  select_->with(id);
  std::optional<NodeRow> out;
  if (select_->step()) out = readNode(*select_);
  select_->reset();
  return out;
}

uint64_t NodeRepository::contiguousFrom(const std::string& node, uint64_t after) {
  uint64_t cur = after;
  for (;;) {
    seqs_after_->with(node, cur, kSeqPage);
    const uint64_t start = cur;
    while (seqs_after_->step() && static_cast<uint64_t>(seqs_after_->int64(0)) == cur + 1) ++cur;
    seqs_after_->reset();
    if (cur - start < static_cast<uint64_t>(kSeqPage)) return cur;  // reached a gap or the end
  }
}

}  // namespace hale::aggregator::storage
