#include "aggregator/storage/failover_decisions.h"

namespace hale::aggregator::storage {

FailoverDecisionRepository::FailoverDecisionRepository(Connection& conn)
    : insert_(conn.prepare(
          "INSERT INTO failover_decisions(epoch, at_ms, from_region, to_region, reason) VALUES($1, $2, $3, $4, $5)")),
      history_(conn.prepare(
          "SELECT epoch, at_ms, from_region, to_region, reason FROM failover_decisions ORDER BY epoch DESC LIMIT $1")),
      changes_(conn.prepare("SELECT count(*) FROM failover_decisions WHERE from_region != ''")) {}

void FailoverDecisionRepository::insert(const FailoverDecisionRow& d) {
  insert_->with(d.epoch, d.at_ms, d.from_region, d.to_region, d.reason).run();
}

std::optional<FailoverDecisionRow> FailoverDecisionRepository::latest() {
  auto rows = history(1);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<FailoverDecisionRow> FailoverDecisionRepository::history(size_t limit) {
  std::vector<FailoverDecisionRow> out;
  history_->with(limit);
  while (history_->step())
    out.push_back({static_cast<uint64_t>(history_->int64(0)), history_->int64(1), history_->text(2), history_->text(3),
                   history_->text(4)});
  history_->reset();
  return out;
}

int64_t FailoverDecisionRepository::countChanges() {
  changes_->reset();
  const int64_t n = changes_->step() ? changes_->int64(0) : 0;
  changes_->reset();
  return n;
}

}  // namespace hale::aggregator::storage
