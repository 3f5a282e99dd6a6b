#include "agent/checks/check.h"
#include "tests/support/check_harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

using hale::wire::CheckStatus;
using namespace hale::agent::checks;

namespace {

std::string commandToml(const std::string& argv, const std::string& extra = "") {
  return fmt::format("[[check]]\nname = \"cmd\"\nkind = \"command_probe\"\nargv = {}\n{}", argv, extra);
}

Outcome runToml(const std::string& text) { return hale::test::checkFromToml(text)->run(); }

std::optional<double> metric(const Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("command_probe_check: exit codes") {
  SUBCASE("exit 0 is ok") {
    const auto out = runToml(commandToml("[\"true\"]"));
    CHECK(out.status == CheckStatus::Ok);
    CHECK(metric(out, "exit_code") == 0);
    CHECK(metric(out, "p50_ms"));
  }
  SUBCASE("a non-zero exit is critical and shows the last output line") {
    const auto out = runToml(commandToml("[\"sh\", \"-c\", \"echo first; echo 'disk not mounted' >&2; exit 3\"]"));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(metric(out, "exit_code") == 3);
    CHECK(out.message.find("exit 3") != std::string::npos);
    CHECK(out.message.find("(expected 0): disk not mounted") != std::string::npos);
  }
  SUBCASE("expect_exit") { CHECK(runToml(commandToml("[\"false\"]", "expect_exit = 1\n")).status == CheckStatus::Ok); }
  SUBCASE("arguments are passed as they are, with no shell in between") {
    const auto out = runToml(commandToml("[\"echo\", \"$HOME; rm -rf /\"]", "output_contains = \"$HOME; rm -rf /\"\n"));
    CHECK(out.status == CheckStatus::Ok);
  }
  SUBCASE("a program that does not exist") {
    const auto out = runToml(commandToml("[\"/nonexistent/hale-probe\"]"));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(out.message.find("cannot run '/nonexistent/hale-probe'") != std::string::npos);
  }
  SUBCASE("a command killed by a signal") {
    const auto out = runToml(commandToml("[\"sh\", \"-c\", \"kill -9 $$\"]"));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(out.message.find("killed by signal 9") != std::string::npos);
  }
}

TEST_CASE("command_probe_check: output match") {
  CHECK(runToml(commandToml("[\"echo\", \"status: ready\"]", "output_contains = \"ready\"\n")).status == CheckStatus::Ok);
  const auto out = runToml(commandToml("[\"echo\", \"status: starting\"]", "output_contains = \"ready\"\n"));
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("output lacks \"ready\"") != std::string::npos);
}

TEST_CASE("command_probe_check: the timeout kills the command and its children") {
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = runToml(commandToml("[\"sh\", \"-c\", \"sleep 30 & sleep 30\"]", "timeout = \"300ms\"\n"));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("timed out after 300ms, killed") != std::string::npos);
  CHECK(elapsed >= std::chrono::milliseconds(250));
  CHECK(elapsed < std::chrono::milliseconds(1500));
  CHECK(metric(out, "success_percent") == 0);
}

TEST_CASE("command_probe_check: a command that closes its output and keeps running is still bounded") {
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = runToml(commandToml("[\"sh\", \"-c\", \"exec >&- 2>&-; sleep 30\"]", "timeout = \"300ms\"\n"));
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("timed out") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
}

TEST_CASE("command_probe_check: run time feeds the SLO") {
  auto check = hale::test::checkFromToml(
      commandToml("[\"sleep\", \"0.05\"]", "slo_p50_ms = 20\nslo_min_samples = 2\nwindow = \"1m\"\n"));
  CHECK(check->run().status == CheckStatus::Ok);
  const auto out = check->run();
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("SLO violated: p50") != std::string::npos);
}

TEST_CASE("command_probe_check: rejects bad config") {
  using hale::test::configErrorOf;
  SUBCASE("a command line string instead of argv") {
    const auto err = configErrorOf(commandToml("\"systemctl is-active nginx\""));
    CHECK(err.find("checks.toml:4:") == 0);
    CHECK(err.find("key 'argv'") != std::string::npos);
    CHECK(err.find("expected") != std::string::npos);
  }
  SUBCASE("empty argv") {
    const auto err = configErrorOf(commandToml("[]"));
    CHECK(err.find("checks.toml:4:") == 0);
    CHECK(err.find("key 'argv' in check 'cmd': must name a program") != std::string::npos);
  }
  SUBCASE("exit code out of range") {
    const auto err = configErrorOf(commandToml("[\"true\"]", "expect_exit = 300\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("key 'expect_exit' in check 'cmd': expected 0..255") != std::string::npos);
  }
}
