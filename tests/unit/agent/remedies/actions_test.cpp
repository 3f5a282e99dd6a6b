#include "agent/remedies/remedy.h"
#include "shared/crypto/crypto.h"
#include "shared/wire/envelope.h"
#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace hale;
using namespace hale::agent;
namespace fs = std::filesystem;

namespace {
remedies::Plan plan(const std::string& body) {
  const auto root = config::parseText("[[remedy]]\n" + body, "actions.toml");
  return remedies::parsePlan(*root.get("remedy"), "actions.toml", "web", {RealClock::instance(), "/tmp"});
}

remedies::ActionContext context() {
  remedies::ActionContext ctx;
  ctx.check = "web";
  ctx.check_kind = "process";
  ctx.issue_id = 42;
  ctx.attempt_id = 7;
  ctx.status = "crit";
  ctx.message = "web: 0 running";
  ctx.reason = "every step tried";
  return ctx;
}
}  // namespace

TEST_CASE("remedy_actions: hook gets the issue's context in HALE_* variables, run gets env and cwd") {
  test::TempDir dir;
  SUBCASE("hook") {
    auto p = plan(
        "action = \"hook\"\nargv = [\"/usr/bin/printenv\", \"HALE_CHECK\", \"HALE_ISSUE_ID\", \"HALE_ATTEMPT_ID\", "
        "\"HALE_MESSAGE\", \"EXTRA\"]\nenv = [\"EXTRA=1\"]\n");
    const auto r = p.steps[0].impl->execute(context());
    CHECK(r.ok);
    CHECK(r.output_tail == "web\n42\n7\nweb: 0 running\n1\n");
  }
  SUBCASE("run: cwd, exit code, timeout, no shell") {
    auto p = plan("action = \"run\"\nargv = [\"/usr/bin/pwd\"]\ncwd = \"" + dir.path() + "\"\n");
    auto r = p.steps[0].impl->execute(context());
    CHECK(r.ok);
    CHECK(r.output_tail.find(dir.path()) != std::string::npos);
    CHECK(r.output_tail.find("HALE_") == std::string::npos);
    auto failing = plan("action = \"run\"\nargv = [\"/usr/bin/false\"]\n");
    r = failing.steps[0].impl->execute(context());
    CHECK_FALSE(r.ok);
    CHECK(r.exit_code == 1);
    auto slow = plan("action = \"run\"\nargv = [\"/usr/bin/sleep\", \"5\"]\ntimeout = \"200ms\"\n");
    r = slow.steps[0].impl->execute(context());
    CHECK_FALSE(r.ok);
    CHECK(r.detail.find("timed out") != std::string::npos);
    auto shell = plan("action = \"run\"\nargv = [\"/usr/bin/echo\", \"$(touch " + dir.file("pwned") + ")\"]\n");
    CHECK(shell.steps[0].impl->execute(context()).ok);
    CHECK_FALSE(fs::exists(dir.file("pwned")));
  }
}

TEST_CASE("remedy_actions: rotate_logs shifts generations, leaves an empty log and compresses") {
  test::TempDir dir;
  const std::string log = dir.file("app.log");
  test::writeFile(log, "current\n");
  test::writeFile(log + ".1.gz", "old1");
  test::writeFile(log + ".2.gz", "old2");
  auto p = plan("action = \"rotate_logs\"\nfiles = [\"" + log + "\"]\nkeep = 2\n");
  const auto r = p.steps[0].impl->execute(context());
  CHECK(r.ok);
  CHECK(fs::exists(log));
  CHECK(fs::file_size(log) == 0);
  CHECK(fs::exists(log + ".1.gz"));  // the fresh rotation, compressed
  CHECK(test::readFile(log + ".2.gz") == "old1");
  CHECK_FALSE(fs::exists(log + ".3.gz"));  // keep = 2
  CHECK(test::runCommand({"/usr/bin/gzip", "-t", log + ".1.gz"}) == 0);
}

TEST_CASE("remedy_actions: notify POSTs JSON with an HMAC-SHA256 signature header") {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string request;
  std::thread server([&] {
    const int c = ::accept(listener, nullptr, nullptr);
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos || request.find("}") == std::string::npos) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    const std::string reply = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
    (void)!::write(c, reply.data(), reply.size());
    ::close(c);
  });
  ::setenv("HALE_TEST_WEBHOOK_SECRET", "s3cret", 1);
  auto p = plan("action = \"notify\"\nurl = \"http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
                "/hook\"\nsecret_env = \"HALE_TEST_WEBHOOK_SECRET\"\n");
  REQUIRE(p.notify.size() == 1);
  const auto r = p.notify[0].impl->execute(context());
  server.join();
  ::close(listener);
  CHECK(r.ok);
  CHECK(r.exit_code == 204);
  REQUIRE(request.rfind("POST /hook HTTP/1.1\r\n", 0) == 0);
  const std::string body = request.substr(request.find("\r\n\r\n") + 4);
  CHECK(body.find("\"reason\":\"every step tried\"") != std::string::npos);
  const std::string secret = "s3cret";
  const auto mac = crypto::hmacSha256({reinterpret_cast<const uint8_t*>(secret.data()), secret.size()},
                                      {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  CHECK(request.find("X-Hale-Signature: sha256=" + crypto::toHex(mac) + "\r\n") != std::string::npos);
}

TEST_CASE("remedy_actions: RemediationEvent round-trips through a verified envelope") {
  wire::RemediationRecord rec;
  rec.attempt_id = 9;
  rec.issue_id = 3;
  rec.check = "web";
  rec.action = "restart";
  rec.outcome = wire::RemediationOutcome::Healed;
  rec.reason = std::string(5000, 'x');  // cut to the wire's text limit
  rec.exit_code = 0;
  rec.duration_ms = 12;
  rec.at_ms = 1234;
  const auto bytes = wire::buildRemediationEvent({"n1", "r1", 5, 99}, rec);
  auto env = wire::verifyEnvelope(bytes, "r1", "n1");
  REQUIRE(env);
  const auto back = wire::readRemediationEvent(*(*env)->payload_as_RemediationEvent());
  CHECK(back.attempt_id == 9);
  CHECK(back.check == "web");
  CHECK(back.outcome == wire::RemediationOutcome::Healed);
  CHECK(back.reason.size() == wire::kMaxTextBytes);
  CHECK(wire::remediationOutcomeName(back.outcome) == "Healed");
}
