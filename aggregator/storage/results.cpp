#include "aggregator/storage/results.h"

#include <nlohmann/json.hpp>

namespace hale::aggregator::storage {
namespace {
std::string metricsJson(const std::vector<wire::MetricValue>& metrics) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& m : metrics) j[m.name] = m.value;
  return j.dump();
}
}  // namespace

ResultRepository::ResultRepository(Connection& conn)
    : insert_(conn.prepare(
          "INSERT INTO check_results(node, check_name, kind, status, component, message, metrics, observed_at_ms) "
          "VALUES($1, $2, $3, $4, $5, $6, $7, $8)")),
      upsert_latest_(conn.prepare(
          "INSERT INTO latest_results(node, check_name, kind, status, component, message, metrics, observed_at_ms) "
          "VALUES($1, $2, $3, $4, $5, $6, $7, $8) "
          "ON CONFLICT(node, check_name) DO UPDATE SET kind = excluded.kind, status = excluded.status, "
          "component = excluded.component, message = excluded.message, metrics = excluded.metrics, "
          "observed_at_ms = excluded.observed_at_ms "
          "WHERE excluded.observed_at_ms >= latest_results.observed_at_ms")),
      latest_(conn.prepare("SELECT check_name, kind, status, component, message, metrics, observed_at_ms "
                           "FROM latest_results WHERE node = $1 ORDER BY check_name")),
      prune_(conn.prepare("DELETE FROM check_results WHERE observed_at_ms < $1")) {}

void ResultRepository::record(const std::string& node, const wire::ResultRecord& r) {
  const std::string metrics = metricsJson(r.metrics);
  const auto status = static_cast<int64_t>(r.status);
  const auto component = static_cast<int64_t>(r.component);
  insert_->with(node, r.check, r.kind, status, component, r.message, metrics, r.observed_at_ms).run();
  upsert_latest_->with(node, r.check, r.kind, status, component, r.message, metrics, r.observed_at_ms).run();
}

std::vector<LatestResult> ResultRepository::latest(const std::string& node) {
  std::vector<LatestResult> out;
  latest_->with(node);
  while (latest_->step()) {
    LatestResult r;
    r.check = latest_->text(0);
    r.kind = latest_->text(1);
    r.status = static_cast<wire::CheckStatus>(latest_->int64(2));
    r.component = static_cast<wire::Component>(latest_->int64(3));
    r.message = latest_->text(4);
    r.metrics_json = latest_->text(5);
    r.observed_at_ms = latest_->int64(6);
    out.push_back(std::move(r));
  }
  latest_->reset();
  return out;
}

size_t ResultRepository::prune(int64_t before_ms) { return static_cast<size_t>(prune_->with(before_ms).run()); }

}  // namespace hale::aggregator::storage
