#include "aggregator/webhooks/ci_webhooks.h"

#include "shared/crypto/crypto.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>

namespace hale::aggregator::webhooks {
namespace {
using nlohmann::json;

// Field access that never throws on a payload of the wrong shape.
const json* at(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string str(const json& j, std::string_view key) {
  const json* v = at(j, key);
  if (!v) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  if (v->is_number_unsigned()) return std::to_string(v->get<uint64_t>());
  return {};
}

const json& obj(const json& j, std::string_view key) {
  static const json kEmpty = json::object();
  const json* v = at(j, key);
  return v && v->is_object() ? *v : kEmpty;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Long fields are cut: the table is for overviews, not a copy of the CI system.
std::string cap(std::string s, size_t n = 512) {
  if (s.size() > n) s.resize(n);
  return s;
}

Result<json> parseObject(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return makeError("the body is not valid JSON");
  if (!j.is_object()) return makeError("the body is not a JSON object");
  return j;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  const auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, out);
  return ec == std::errc{} && p == s.data() + pos + n;
}

int64_t daysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

CiRun finish(CiRun run) {
  for (std::string* f :
       {&run.repository, &run.pipeline, &run.run_id, &run.status, &run.conclusion, &run.branch, &run.commit, &run.url})
    *f = cap(std::move(*f));
  return run;
}
}  // namespace

std::string hmacSignatureHeader(std::string_view secret, std::string_view body) {
  return "sha256=" + crypto::hmacSha256Hex(secret, body);
}

bool githubSignatureValid(std::string_view secret, std::string_view body, std::string_view header) {
  // Compared as text over the whole header: crypto::constantTimeEqual on text
  // does not leak where or whether the lengths differ.
  return !header.empty() && crypto::constantTimeEqual(lower(std::string(header)), hmacSignatureHeader(secret, body));
}

int64_t parseTimeMs(std::string_view t) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (t.size() < 19 || !digits(t, 0, 4, y) || t[4] != '-' || !digits(t, 5, 2, mo) || t[7] != '-' ||
      !digits(t, 8, 2, d) || (t[10] != 'T' && t[10] != ' ') || !digits(t, 11, 2, h) || t[13] != ':' ||
      !digits(t, 14, 2, mi) || t[16] != ':' || !digits(t, 17, 2, s))
    return 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return 0;
  int64_t ms = 0;
  size_t pos = 19;
  if (pos < t.size() && t[pos] == '.') {
    int64_t scale = 100;
    for (++pos; pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos])); ++pos, scale /= 10)
      ms += (t[pos] - '0') * scale;
  }
  int64_t offset_s = 0;
  std::string_view zone = t.substr(pos);
  while (!zone.empty() && zone.front() == ' ') zone.remove_prefix(1);
  if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh = 0, om = 0;
    if (!digits(zone, 1, 2, oh) || !digits(zone, 4, 2, om)) return 0;
    offset_s = (oh * 3600 + om * 60) * (zone[0] == '-' ? -1 : 1);
  } else if (!zone.empty() && zone != "Z" && zone != "UTC") {
    return 0;
  }
  const int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 86400 + h * 3600 + mi * 60 + s) - offset_s) * 1000 + ms;
}

Result<std::optional<CiRun>> parseGithub(std::string_view event, std::string_view body) {
  auto parsed = parseObject(body);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  CiRun run;
  run.source = "github";
  run.repository = str(obj(j, "repository"), "full_name");
  if (event == "workflow_run") {
    const json& w = obj(j, "workflow_run");
    run.run_id = str(w, "id");
    if (run.run_id.empty()) return makeError("workflow_run event without workflow_run.id");
    run.pipeline = str(w, "name");
    if (run.pipeline.empty()) run.pipeline = str(obj(j, "workflow"), "name");
    run.status = str(w, "status");
    run.conclusion = str(w, "conclusion");
    run.branch = str(w, "head_branch");
    run.commit = str(w, "head_sha");
    run.url = str(w, "html_url");
    run.started_at_ms = parseTimeMs(str(w, "run_started_at"));
    if (run.status == "completed") run.finished_at_ms = parseTimeMs(str(w, "updated_at"));
  } else if (event == "check_run") {
    const json& c = obj(j, "check_run");
    run.run_id = str(c, "id");
    if (run.run_id.empty()) return makeError("check_run event without check_run.id");
    run.pipeline = str(c, "name");
    run.status = str(c, "status");
    run.conclusion = str(c, "conclusion");
    run.branch = str(obj(c, "check_suite"), "head_branch");
    run.commit = str(c, "head_sha");
    run.url = str(c, "html_url");
    run.started_at_ms = parseTimeMs(str(c, "started_at"));
    run.finished_at_ms = parseTimeMs(str(c, "completed_at"));
  } else {
    return std::optional<CiRun>{};  // ping, push, ...: accepted, not recorded
  }
  if (run.repository.empty()) return makeError(fmt::format("{} event without repository.full_name", event));
  if (run.status.empty()) return makeError(fmt::format("{} event without a status", event));
  return std::optional<CiRun>{finish(std::move(run))};
}

Result<std::optional<CiRun>> parseGitlab(std::string_view event, std::string_view body) {
  auto parsed = parseObject(body);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  if (event != "Pipeline Hook" && str(j, "object_kind") != "pipeline") return std::optional<CiRun>{};
  const json& a = obj(j, "object_attributes");
  CiRun run;
  run.source = "gitlab";
  run.repository = str(obj(j, "project"), "path_with_namespace");
  run.run_id = str(a, "id");
  run.status = str(a, "status");
  if (run.repository.empty() || run.run_id.empty() || run.status.empty())
    return makeError("pipeline event without project.path_with_namespace, object_attributes.id or status");
  run.pipeline = str(a, "name");
  if (run.pipeline.empty()) run.pipeline = str(a, "source");
  if (run.pipeline.empty()) run.pipeline = "pipeline";
  static constexpr std::string_view kFinal[] = {"success", "failed", "canceled", "skipped"};
  for (auto f : kFinal)
    if (run.status == f) run.conclusion = run.status;
  run.branch = str(a, "ref");
  run.commit = str(a, "sha");
  run.url = str(a, "url");
  if (run.url.empty()) {
    const std::string web = str(obj(j, "project"), "web_url");
    if (!web.empty()) run.url = web + "/-/pipelines/" + run.run_id;
  }
  run.started_at_ms = parseTimeMs(str(a, "created_at"));
  run.finished_at_ms = parseTimeMs(str(a, "finished_at"));
  return std::optional<CiRun>{finish(std::move(run))};
}

Result<std::optional<CiRun>> parseJenkins(std::string_view body) {
  auto parsed = parseObject(body);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  const json& b = obj(j, "build");
  CiRun run;
  run.source = "jenkins";
  run.repository = str(j, "name");
  const std::string number = str(b, "number");
  run.status = str(b, "phase");
  if (run.repository.empty() || number.empty() || run.status.empty())
    return makeError("Jenkins notification without name, build.number or build.phase");
  run.pipeline = run.repository;
  run.run_id = run.repository + "#" + number;
  run.conclusion = lower(str(b, "status"));
  const json& scm = obj(b, "scm");
  run.branch = str(scm, "branch");
  run.commit = str(scm, "commit");
  run.url = str(b, "full_url");
  if (const json* ts = at(b, "timestamp"); ts && ts->is_number_integer()) run.started_at_ms = ts->get<int64_t>();
  if (const json* dur = at(b, "duration");
      dur && dur->is_number_integer() && run.started_at_ms && !run.conclusion.empty())
    run.finished_at_ms = run.started_at_ms + dur->get<int64_t>();
  return std::optional<CiRun>{finish(std::move(run))};
}

}  // namespace hale::aggregator::webhooks
