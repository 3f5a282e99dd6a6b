#pragma once
// Incoming CI webhooks (GitHub workflow_run/check_run, GitLab Pipeline Hook,
// Jenkins Notification plugin): signature checks and payload parsers as pure
// functions of the raw bytes, so they are unit-tested and fuzzed without a
// socket, plus the ci_runs table they feed.
#include "shared/config/config.h"
#include "shared/sqlite/database.h"
#include "shared/util/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hale::aggregator::webhooks {

/// One build outcome as a CI system reported it.
struct CiRun {
  std::string source;      ///< github, gitlab, jenkins
  std::string repository;  ///< owner/name, group/project, or the Jenkins job
  std::string pipeline;    ///< workflow, check or pipeline name
  std::string run_id;
  std::string status;      ///< as sent: queued, in_progress, completed, running, success, STARTED...
  std::string conclusion;  ///< success, failure, cancelled...; empty while running
  std::string branch;
  std::string commit;
  std::string url;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  int64_t received_at_ms = 0;
};

/// Secrets of the incoming webhooks, from [webhooks] *_file / *_env keys; an
/// unset one turns its endpoint off (404).
struct Secrets {
  std::optional<std::string> github;   ///< HMAC key of X-Hub-Signature-256
  std::optional<std::string> gitlab;   ///< X-Gitlab-Token
  std::optional<std::string> jenkins;  ///< "Authorization: Bearer <token>"
};

/// Reads [webhooks]; throws config::ConfigError with file:line:col.
Secrets readSecrets(const toml::table& root, const std::string& path);
std::span<const config::FieldSpec> webhookFields();

/// Bodies above this are refused with 413 (GitHub caps payloads at 25 MB, but
/// workflow_run and pipeline events are a few tens of KiB).
constexpr size_t kMaxPayloadBytes = 512 * 1024;

/// "sha256=<hex>" of HMAC-SHA256(secret, body), compared in constant time.
bool githubSignatureValid(std::string_view secret, std::string_view body, std::string_view header);
/// "sha256=<lower hex>" of HMAC-SHA256(secret, body).
std::string hmacSignatureHeader(std::string_view secret, std::string_view body);

/// nullopt: a well-formed event Hale does not record (ping, other events);
/// an Error: malformed JSON or a workflow_run/check_run without its fields.
Result<std::optional<CiRun>> parseGithub(std::string_view event, std::string_view body);
Result<std::optional<CiRun>> parseGitlab(std::string_view event, std::string_view body);
Result<std::optional<CiRun>> parseJenkins(std::string_view body);

/// "2020-01-22T19:33:08Z", "2020-01-22T19:33:08.123+01:00" or GitLab's
/// "2016-08-12 15:23:28 UTC"; 0 when empty or not a time.
int64_t parseTimeMs(std::string_view text);

struct CiRunFilter {
  std::string repository;  ///< empty: any
  std::string status;      ///< matches status or conclusion; empty: any
  std::string source;
  size_t limit = 100;
  size_t offset = 0;
};

/// Stores a run; false when (source, run_id, status) was already recorded.
bool insertCiRun(sqlite::Database& db, const CiRun& run);
std::vector<CiRun> ciRuns(sqlite::Database& db, const CiRunFilter& filter);
size_t countCiRuns(sqlite::Database& db, const CiRunFilter& filter);
/// conclusion (or status while unfinished) -> count of runs received since `since_ms`.
std::vector<std::pair<std::string, uint64_t>> ciRunOutcomes(sqlite::Database& db, int64_t since_ms);

}  // namespace hale::aggregator::webhooks
