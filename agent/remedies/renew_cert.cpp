// renew_cert: runs a renewal hook (certbot, an ACME client, a script that asks
// the internal CA) with the context in HALE_* variables and the
// certificate's path in HALE_CERT; the engine's re-check after the settle time
// is what says whether the certificate check healed. The program must be on
// the allowlist, as for run.
//
//   [[check.remedy]]
//   action = "renew_cert"
//   argv = ["/usr/bin/certbot", "renew", "--cert-name", "www.example.org"]
//   cert = "/etc/letsencrypt/live/www.example.org/fullchain.pem"
//   settle = "10s"
#include "agent/platform/program_run.h"
#include "agent/remedies/remedy.h"

#include <fmt/format.h>

namespace hale::agent::remedies {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"argv", config::FieldType::StringArray, "", "renewal program (absolute path, on the allowlist) and arguments",
     true},
    {"cert", config::FieldType::String, "", "the certificate being renewed, passed as HALE_CERT"},
    {"env", config::FieldType::StringArray, "", "extra environment, KEY=VALUE"},
    {"cwd", config::FieldType::String, "", "working directory"},
    {"timeout", config::FieldType::Duration, "5m", "the program's process group is killed after this"},
    {"user", config::FieldType::String, "", "run as this user (the agent must run as root)"},
};

class RenewCertAction final : public Action {
 public:
  explicit RenewCertAction(const config::Fields& f) : spec_(programSpecFrom(f)), cert_(f.optStr("cert").value_or("")) {}

  ActionResult execute(const ActionContext& ctx) override {
    platform::ProgramSpec spec = spec_;
    auto env = contextEnv(ctx);
    if (!cert_.empty()) env.push_back("HALE_CERT=" + cert_);
    env.insert(env.end(), spec.env.begin(), spec.env.end());
    spec.env = std::move(env);
    auto r = runAndReport(spec);
    if (r.ok) r.detail = "renewal hook " + r.detail + "; the re-check decides";
    return r;
  }
  std::vector<std::string> programs() const override { return {spec_.argv[0]}; }
  std::string resource() const override { return cert_; }
  std::string describe() const override {
    std::string line = "renew_cert";
    for (const auto& a : spec_.argv) line += " " + a;
    return line;
  }

 private:
  platform::ProgramSpec spec_;
  std::string cert_;
};

ActionPtr make(const config::Fields& fields, const ActionEnv&) { return std::make_unique<RenewCertAction>(fields); }

}  // namespace

extern const ActionKind kRenewCertAction;
const ActionKind kRenewCertAction{
    "renew_cert", "run a certificate renewal hook, then the re-check verifies the new one", kFields, &make};

}  // namespace hale::agent::remedies
