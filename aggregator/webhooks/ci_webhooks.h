#pragma once
// Incoming CI webhooks (GitHub workflow_run/check_run, GitLab Pipeline Hook,
// Jenkins Notification plugin): signature checks and payload parsers as pure
// functions of the raw bytes, so they are unit-tested and fuzzed without a
// socket. The runs they produce go to storage::CiRunRepository.
#include "aggregator/storage/ci_runs.h"
#include "shared/config/config.h"
#include "shared/util/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hale::aggregator::webhooks {

/// One build outcome as a CI system reported it (stored in ci_runs).
using CiRun = storage::CiRun;

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

}  // namespace hale::aggregator::webhooks
