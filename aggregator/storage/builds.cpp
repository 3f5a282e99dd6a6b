#include "aggregator/storage/builds.h"

#include <nlohmann/json.hpp>

namespace hale::aggregator::storage {
namespace {
BuildRow readBuild(const Statement& s) {
  BuildRow row;
  row.node = s.text(0);
  row.region = s.text(1);
  auto& b = row.build;
  b.build_id = static_cast<uint64_t>(s.int64(2));
  b.attempt = static_cast<uint32_t>(s.int64(3));
  b.command = s.text(4);
  b.exit_code = static_cast<int32_t>(s.int64(5));
  b.category = s.text(6);
  b.secondary_category = s.text(7);
  b.confidence = static_cast<float>(s.real(8));
  b.remedy = s.text(9);
  b.duration_ms = static_cast<uint32_t>(s.int64(10));
  const auto evidence = nlohmann::json::parse(s.text(11), nullptr, false);
  if (evidence.is_array())
    for (const auto& line : evidence)
      if (line.is_string()) b.evidence.push_back(line.get<std::string>());
  b.at_ms = s.int64(12);
  return row;
}
}  // namespace

BuildRepository::BuildRepository(Connection& conn)
    : conn_(conn),
      insert_(conn.prepare(
          "INSERT INTO builds(node, build_id, attempt, command, exit_code, category, secondary_category, confidence, "
          "remedy, duration_ms, evidence, at_ms) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
          "ON CONFLICT DO NOTHING")) {}

void BuildRepository::record(const std::string& node, const wire::BuildRecord& b) {
  const nlohmann::json evidence = b.evidence;
  insert_
      ->with(node, b.build_id, b.attempt, b.command, b.exit_code, b.category, b.secondary_category,
             static_cast<double>(b.confidence), b.remedy, b.duration_ms,
             evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), b.at_ms)
      .run();
}

std::vector<CategoryCount> BuildRepository::failedByCategory(int64_t since_ms, const std::string& region) {
  auto s = conn_.prepare(
      "SELECT b.category, count(*) FROM builds b JOIN nodes n ON n.node = b.node "
      "WHERE b.at_ms >= $1 AND b.exit_code != 0 AND ($2 = '' OR n.region = $2) "
      "GROUP BY b.category ORDER BY count(*) DESC, b.category");
  s->with(since_ms, region);
  std::vector<CategoryCount> out;
  while (s->step()) out.push_back({s->text(0), static_cast<uint64_t>(s->int64(1))});
  return out;
}

std::vector<BuildRow> BuildRepository::recent(int64_t since_ms, const std::string& region, const std::string& category,
                                              size_t limit) {
  auto s = conn_.prepare(
      "SELECT b.node, n.region, b.build_id, b.attempt, b.command, b.exit_code, b.category, b.secondary_category, "
      "b.confidence, b.remedy, b.duration_ms, b.evidence, b.at_ms FROM builds b JOIN nodes n ON n.node = b.node "
      "WHERE b.at_ms >= $1 AND ($2 = '' OR n.region = $2) AND ($3 = '' OR b.category = $3) "
      "ORDER BY b.at_ms DESC LIMIT $4");
  s->with(since_ms, region, category, limit);
  std::vector<BuildRow> out;
  while (s->step()) out.push_back(readBuild(*s));
  return out;
}

}  // namespace hale::aggregator::storage
