// [webhooks]: secrets of the incoming CI webhooks, from files or environment
// variables only (never inline).
#include "aggregator/notify/notify_config.h"
#include "aggregator/webhooks/ci_webhooks.h"
#include "shared/app/mqtt_settings.h"

namespace hale::aggregator::webhooks {
namespace {
constexpr config::FieldSpec kWebhookFields[] = {
    {"github_secret_file", config::FieldType::String, "",
     "file holding the GitHub webhook secret (X-Hub-Signature-256)"},
    {"github_secret_env", config::FieldType::String, "", "environment variable holding it instead"},
    {"gitlab_token_file", config::FieldType::String, "", "file holding the GitLab secret token (X-Gitlab-Token)"},
    {"gitlab_token_env", config::FieldType::String, "", "environment variable holding it instead"},
    {"jenkins_token_file", config::FieldType::String, "", "file holding the bearer token Jenkins notifications carry"},
    {"jenkins_token_env", config::FieldType::String, "", "environment variable holding it instead"},
};
}  // namespace

std::span<const config::FieldSpec> webhookFields() { return kWebhookFields; }

Secrets readSecrets(const toml::table& root, const std::string& path) {
  const auto f = config::readFields(app::sectionOf(root, "webhooks", path), kWebhookFields, path, "[webhooks]");
  Secrets s;
  s.github = notify::readSecret(f, "github_secret_file", "github_secret_env");
  s.gitlab = notify::readSecret(f, "gitlab_token_file", "gitlab_token_env");
  s.jenkins = notify::readSecret(f, "jenkins_token_file", "jenkins_token_env");
  return s;
}

}  // namespace hale::aggregator::webhooks
