#include "aggregator/storage/ci_runs.h"

#include <fmt/format.h>

namespace hale::aggregator::storage {
namespace {
constexpr std::string_view kWhere =
    " WHERE ($1 = '' OR repository = $1) AND ($2 = '' OR status = $2 OR conclusion = $2) AND ($3 = '' OR source = $3)";

CiRun readRun(const Statement& s) {
  return CiRun{s.text(0), s.text(3), s.text(4), s.text(1),  s.text(2),   s.text(5),
               s.text(6), s.text(7), s.text(8), s.int64(9), s.int64(10), s.int64(11)};
}
}  // namespace

CiRunRepository::CiRunRepository(Connection& conn)
    : conn_(conn),
      insert_(conn.prepare(
          "INSERT INTO ci_runs(source, run_id, status, repository, pipeline, conclusion, branch, commit_sha, url, "
          "started_at_ms, finished_at_ms, received_at_ms) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
          "ON CONFLICT DO NOTHING")) {}

bool CiRunRepository::insert(const CiRun& r) {
  return insert_
             ->with(r.source, r.run_id, r.status, r.repository, r.pipeline, r.conclusion, r.branch, r.commit, r.url,
                    r.started_at_ms, r.finished_at_ms, r.received_at_ms)
             .run() > 0;
}

std::vector<CiRun> CiRunRepository::list(const CiRunFilter& f) {
  auto s = conn_.prepare(fmt::format(
      "SELECT source, run_id, status, repository, pipeline, conclusion, branch, commit_sha, url, started_at_ms, "
      "finished_at_ms, received_at_ms FROM ci_runs{} ORDER BY received_at_ms DESC, run_id DESC LIMIT $4 OFFSET $5",
      kWhere));
  s->with(f.repository, f.status, f.source, f.limit, f.offset);
  std::vector<CiRun> out;
  while (s->step()) out.push_back(readRun(*s));
  return out;
}

size_t CiRunRepository::count(const CiRunFilter& f) {
  auto s = conn_.prepare(fmt::format("SELECT count(*) FROM ci_runs{}", kWhere));
  s->with(f.repository, f.status, f.source);
  return s->step() ? static_cast<size_t>(s->int64(0)) : 0;
}

std::vector<std::pair<std::string, uint64_t>> CiRunRepository::outcomes(int64_t since_ms) {
  auto s = conn_.prepare(
      "SELECT CASE WHEN conclusion = '' THEN status ELSE conclusion END AS outcome, count(*) FROM ci_runs "
      "WHERE received_at_ms >= $1 GROUP BY outcome ORDER BY outcome");
  s->with(since_ms);
  std::vector<std::pair<std::string, uint64_t>> out;
  while (s->step()) out.emplace_back(s->text(0), static_cast<uint64_t>(s->int64(1)));
  return out;
}

}  // namespace hale::aggregator::storage
