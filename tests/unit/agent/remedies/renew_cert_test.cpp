// renew_cert and the `user` option of run and hook, with real programs: an
// expiring certificate made by openssl, a renewal script that issues a fresh
// one, and a child whose uid is checked.
#include "tests/support/remedy_harness.h"

#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

using namespace hale;
using namespace hale::agent;

namespace {
namespace fs = std::filesystem;

void makeCert(const std::string& path, const std::string& key, int days) {
  REQUIRE(
      test::runCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-subj", "/CN=www.test", "-days", std::to_string(days), "-keyout", key, "-out", path},
                       path + ".log") == 0);
}

std::string script(test::TempDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir.file(name);
  test::writeFile(path, "#!/bin/sh\n" + body);
  fs::permissions(path, fs::perms(0755));
  return path;
}
}  // namespace

TEST_CASE("remedy_renew_cert: an expiring certificate is renewed by the hook and the re-check heals the issue") {
  test::RemedyRig rig;
  const std::string cert = rig.dir.file("site.pem"), key = rig.dir.file("site.key");
  makeCert(cert, key, 2);  // expires in 2 days: critical under crit_days = 7
  // The "certbot": issues a fresh certificate where HALE_CERT says, and leaves the context behind.
  const std::string hook =
      script(rig.dir, "renew",
             "env | grep '^HALE_' | sort > \"$HALE_CERT.env\"\n"
             "exec /usr/bin/openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-subj /CN=www.test -days 90 -keyout \"$HALE_CERT.key\" -out \"$HALE_CERT\" 2>/dev/null\n");
  rig.writeConfig("[remediation]\nallowlist = [\"" + hook +
                  "\"]\ncooldown = \"0s\"\n"
                  "[[check]]\nname = \"site-cert\"\nkind = \"certificate\"\nfile = \"" +
                  cert +
                  "\"\nwarn_days = 30\ncrit_days = 7\n"
                  "  [[check.remedy]]\n  action = \"renew_cert\"\n  argv = [\"" +
                  hook +
                  "\", \"--cert-name\", \"www\"]\n"
                  "  cert = \"" +
                  cert + "\"\n  settle = \"0s\"\n");
  auto cfg = loadAgentConfig(rig.config);
  const auto outcomes = rig.remediate(cfg, "site-cert");
  CHECK(outcomes == std::vector<std::string>{"renew_cert:fired", "renew_cert:executed", "renew_cert:healed"});
  CHECK(rig.last_reason.find("check ok after this step") != std::string::npos);
  const auto env = test::readFile(cert + ".env");
  CHECK(env.find("HALE_CHECK=site-cert") != std::string::npos);
  CHECK(env.find("HALE_CHECK_KIND=certificate") != std::string::npos);
  CHECK(env.find("HALE_CERT=" + cert) != std::string::npos);
  CHECK(env.find("HALE_ISSUE_ID=1") != std::string::npos);
}

TEST_CASE("remedy_renew_cert: a renewal that does not produce a valid certificate is not healed") {
  test::RemedyRig rig;
  const std::string cert = rig.dir.file("site.pem"), key = rig.dir.file("site.key");
  makeCert(cert, key, 2);
  const std::string hook = script(rig.dir, "renew", "exit 0\n");  // "succeeds" without renewing
  rig.writeConfig("[remediation]\nallowlist = [\"" + hook +
                  "\"]\ncooldown = \"0s\"\n"
                  "[[check]]\nname = \"site-cert\"\nkind = \"certificate\"\nfile = \"" +
                  cert +
                  "\"\nwarn_days = 30\ncrit_days = 7\n"
                  "  [[check.remedy]]\n  action = \"renew_cert\"\n  argv = [\"" +
                  hook + "\"]\n  settle = \"0s\"\n");
  auto cfg = loadAgentConfig(rig.config);
  const auto outcomes = rig.remediate(cfg, "site-cert");
  CHECK(outcomes ==
        std::vector<std::string>{"renew_cert:fired", "renew_cert:executed", "renew_cert:not_healed", "plan:failed"});
}

TEST_CASE("remedy_user: run and hook with `user` run the program as that user") {
  REQUIRE(::geteuid() == 0);  // the test suite runs as root here
  test::RemedyRig rig;
  fs::create_directories(rig.etc);
  fs::permissions(rig.etc, fs::perms(0777));
  const std::string marker = rig.etc + "/marker";
  const std::string id = script(rig.dir, "whoami", "/usr/bin/id -u > \"$1\"; /usr/bin/id -g >> \"$1\"; exit 1\n");
  const std::string hook = script(rig.dir, "hook", "/usr/bin/id -u > \"$1\"; echo \"$HALE_CHECK $USER\" >> \"$1\"\n");
  fs::permissions(rig.dir.path(), fs::perms(0755));
  rig.writeConfig("[remediation]\nallowlist = [\"" + id + "\", \"" + hook +
                  "\"]\ncooldown = \"0s\"\n"
                  "[[check]]\nname = \"marker\"\nkind = \"file\"\npath = \"" +
                  marker +
                  "\"\n"
                  "  [[check.remedy]]\n  action = \"run\"\n  user = \"nobody\"\n  settle = \"0s\"\n"
                  "  argv = [\"" +
                  id + "\", \"" + marker +
                  ".run\"]\n"
                  "  [[check.remedy]]\n  action = \"hook\"\n  user = \"nobody\"\n  settle = \"0s\"\n"
                  "  argv = [\"" +
                  hook + "\", \"" + marker + "\"]\n");
  auto cfg = loadAgentConfig(rig.config);
  const auto outcomes = rig.remediate(cfg, "marker");
  // The run step exits 1 (failed, audited with its exit code); the hook creates the file and heals.
  CHECK(outcomes == std::vector<std::string>{"run:fired", "run:failed", "hook:fired", "hook:executed", "hook:healed"});
  const auto nobody = std::to_string(::getpwnam("nobody")->pw_uid);
  CHECK(test::readFile(marker + ".run") == nobody + "\n" + std::to_string(::getpwnam("nobody")->pw_gid) + "\n");
  CHECK(test::readFile(marker) == nobody + "\nmarker nobody\n");
  struct stat st {};
  REQUIRE(::stat(marker.c_str(), &st) == 0);
  CHECK(st.st_uid == ::getpwnam("nobody")->pw_uid);
}
