// The log check on real files, timed by a FakeClock: thresholds over the
// window, evidence, the shipped knowledge base, positions kept across restarts.
#include "agent/checks/log_check.h"
#include "agent/checks/check.h"
#include "agent/checks/log_matcher.h"
#include "agent/checks/log_position.h"
#include "tests/support/check_harness.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>

using namespace hale;
using namespace hale::agent;
using checks::CheckStatus;

namespace {

struct LogFixture {
  test::TempDir dir;
  test::FakeClock clock;
  std::string log = dir.file("app.log");
  std::string state = dir.file("state");

  LogFixture() { test::writeFile(log, ""); }

  checks::CheckPtr check(const std::string& extra, const std::string& name = "app-log") {
    const auto root = config::parseText(
        fmt::format("[[check]]\nname = \"{}\"\nkind = \"log\"\npath = \"{}\"\n{}", name, log, extra), "checks.toml");
    const checks::CheckEnv env{clock, state};
    return checks::makeCheck(*root["check"].as_array()->front().as_table(), "checks.toml", env);
  }
  void append(const std::string& text) { std::ofstream(log, std::ios::app | std::ios::binary) << text; }
};

std::string errorOf(const std::string& body) {
  test::TempDir dir;
  try {
    const auto root = config::parseText("[[check]]\nname = \"l\"\nkind = \"log\"\n" + body, "checks.toml");
    const checks::CheckEnv env{RealClock::instance(), dir.path()};
    (void)checks::makeCheck(*root["check"].as_array()->front().as_table(), "checks.toml", env);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

double metric(const checks::Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  FAIL("no metric " << name);
  return -1;
}

const std::string kPatternsDir = std::string(HALE_SOURCE_DIR) + "/config/patterns";

}  // namespace

TEST_CASE("log_check: rejects bad config with the key's position and the reason") {
  CHECK(errorOf("patterns = ['x']\n").find("give exactly one of path and unit") != std::string::npos);
  CHECK(errorOf("path = \"/a\"\nunit = \"u.service\"\npatterns = ['x']\n").find("exactly one") != std::string::npos);
  CHECK(errorOf("path = \"/var/log/a.log\"\n").find("nothing to match") != std::string::npos);
  const auto bad_re = errorOf("path = \"/var/log/a.log\"\npatterns = ['ok', '(unclosed']\n");
  CHECK(bad_re.find("checks.toml:5:") != std::string::npos);
  CHECK(bad_re.find("pattern 2 ('(unclosed') does not compile") != std::string::npos);
  CHECK(errorOf("path = \"/var/log/a.log\"\npatterns = ['x']\nwarn_matches = 9\ncrit_matches = 3\n")
            .find("must not exceed crit_matches (3)") != std::string::npos);
  CHECK(errorOf("path = \"rel.log\"\npatterns = ['x']\n").find("absolute path") != std::string::npos);
  CHECK(errorOf("path = \"/a.log\"\npatterns = ['x']\ncategories = ['network']\n").find("needs patterns_file") !=
        std::string::npos);
  CHECK(errorOf(fmt::format("path = \"/a.log\"\npatterns_dir = \"{}\"\ncategories = ['weather']\n", kPatternsDir))
            .find("'weather' is not a failure category") != std::string::npos);
  CHECK(errorOf("path = \"/a.log\"\npatterns_dir = \"/no/such/dir\"\n").find("does not exist") != std::string::npos);
  CHECK(errorOf("unit = \"-x\"\npatterns = ['x']\n").find("unit name") != std::string::npos);
  CHECK(errorOf("path = \"/a.log\"\njournal_dir = \"/j\"\npatterns = ['x']\n").find("only with unit") !=
        std::string::npos);
  CHECK(errorOf("path = \"/a.log\"\npatterns = ['x']\nmax_line_bytes = 10\n").find("expected 256..") !=
        std::string::npos);
}

TEST_CASE("log_check: matches per window against warn_matches and crit_matches, with a FakeClock") {
  LogFixture f;
  auto check = f.check("patterns = ['ERROR', 'panic: ']\nwindow = \"1m\"\nwarn_matches = 2\ncrit_matches = 4\n");
  auto out = check->run();
  CHECK(out.status == CheckStatus::Ok);
  f.append("INFO fine\nERROR one\n");
  out = check->run();
  CHECK(out.status == CheckStatus::Ok);  // 1 < warn_matches
  CHECK(metric(out, "matches_in_window") == 1);
  f.clock.advance(std::chrono::seconds(20));
  f.append("ERROR two\n");
  out = check->run();
  CHECK(out.status == CheckStatus::Warn);
  CHECK(metric(out, "matches_in_window") == 2);
  f.clock.advance(std::chrono::seconds(20));
  f.append("panic: three\nERROR four\n");
  out = check->run();
  CHECK(out.status == CheckStatus::Crit);
  CHECK(metric(out, "matches_in_window") == 4);
  CHECK(out.message.find("4 matches in 1m") != std::string::npos);
  // The first match leaves the window 60 s after it was read.
  f.clock.advance(std::chrono::seconds(20));
  out = check->run();
  CHECK(metric(out, "matches_in_window") == 3);
  CHECK(out.status == CheckStatus::Warn);
  f.clock.advance(std::chrono::seconds(41));
  out = check->run();
  CHECK(metric(out, "matches_in_window") == 0);
  CHECK(out.status == CheckStatus::Ok);
  CHECK(out.message.find("last:") == std::string::npos);  // evidence leaves with the window
}

TEST_CASE("log_check: the last matching lines are the evidence, bounded in number and length") {
  LogFixture f;
  auto check = f.check("patterns = ['ERROR']\nevidence_lines = 2\n");
  (void)check->run();
  f.append("ERROR first\nERROR second\nERROR third " + std::string(500, 'z') + "\nERROR \x01\xff bytes\n");
  const auto out = check->run();
  CHECK(out.message.find("first") == std::string::npos);
  CHECK(out.message.find("second") == std::string::npos);
  CHECK(out.message.find("last: [pattern 1] ERROR third zzz") != std::string::npos);
  CHECK(out.message.find(std::string(188, 'z') + "…") != std::string::npos);
  CHECK(out.message.find(std::string(201, 'z')) == std::string::npos);
  CHECK(out.message.find("[pattern 1] ERROR   bytes") == std::string::npos);  // \xff became U+FFFD
  CHECK(out.message.find("\xef\xbf\xbd") != std::string::npos);
  CHECK(out.message.find('\x01') == std::string::npos);
}

TEST_CASE("log_check: the shipped knowledge base finds OOM, disk full, TLS and connection errors") {
  LogFixture f;
  auto check = f.check(fmt::format("patterns_dir = \"{}\"\nevidence_lines = 5\ncrit_matches = 100\n", kPatternsDir));
  (void)check->run();
  f.append(
      "kernel: Out of memory: Killed process 4242 (java) total-vm:912340kB\n"
      "pg: could not write to file: No space left on device\n"
      "api: x509: certificate has expired or is not yet valid\n"
      "api: dial tcp 10.0.0.5:5432: connect: connection refused\n"
      "BUILD SUCCESS\n"
      "WARNING: Retrying (Retry(total=4, connect=None)) after connection broken\n"
      "all good here\n");
  const auto out = check->run();
  CHECK(metric(out, "matches_in_window") == 4);
  CHECK(metric(out, "lines_read") == 7);
  CHECK(out.message.find("[oom-killed] kernel: Out of memory") != std::string::npos);
  CHECK(out.message.find("[no-space]") != std::string::npos);
  CHECK(out.message.find("[tls-certificate]") != std::string::npos);
  CHECK(out.message.find("[connection-failure] api: dial tcp") != std::string::npos);  // the higher priority wins

  SUBCASE("categories narrow what counts") {
    LogFixture g;
    auto mem = g.check(fmt::format("patterns_dir = \"{}\"\ncategories = [\"resource-memory\"]\n", kPatternsDir));
    (void)mem->run();
    g.append("Out of memory: Killed process 1 (x)\nNo space left on device\nConnection refused\n");
    CHECK(metric(mem->run(), "matches_in_window") == 1);
    CHECK(checks::logCheckMatches(*mem, "invoked oom-killer"));
    CHECK_FALSE(checks::logCheckMatches(*mem, "No space left on device"));
  }
}

TEST_CASE("log_check: a restarted agent resumes where it stopped: no line read twice, none lost") {
  LogFixture f;
  const std::string cfg = "patterns = ['ERROR']\ncrit_matches = 100\n";
  {
    auto first = f.check(cfg);
    (void)first->run();
    f.append("ERROR a\nERROR b\n");
    CHECK(metric(first->run(), "matches_in_window") == 2);
  }
  const auto kept = checks::loadLogPosition(checks::logPositionFile(f.state, "app-log"));
  REQUIRE(kept);
  CHECK(kept->source == f.log);
  REQUIRE(kept->file);
  CHECK(kept->file->offset == 16);
  f.append("ERROR while down\n");
  auto second = f.check(cfg);
  auto out = second->run();
  CHECK(metric(out, "matches_in_window") == 1);
  CHECK(out.message.find("while down") != std::string::npos);
  CHECK(metric(second->run(), "lines_read") == 0);

  SUBCASE("a check pointed at another file starts afresh there") {
    f.log = f.dir.file("other.log");
    test::writeFile(f.log, "ERROR old news\n");
    auto moved = f.check(cfg);
    CHECK(metric(moved->run(), "lines_read") == 0);  // tail -n0 on the new path
  }
}

TEST_CASE("log_check: reads are bounded per run and carried on, long lines are cut and counted") {
  LogFixture f;
  auto check = f.check("patterns = ['needle']\nmax_read_bytes = 4096\nmax_line_bytes = 256\ncrit_matches = 1000\n");
  (void)check->run();
  std::string backlog;
  for (int i = 0; i < 100; ++i) backlog += fmt::format("line {:03} needle {}\n", i, std::string(60, '.'));
  f.append(backlog + std::string(1000, 'L') + "\n");
  auto out = check->run();
  CHECK(metric(out, "bytes_read") == 4096);
  CHECK(metric(out, "backlog_bytes") == static_cast<double>(backlog.size() + 1001 - 4096));
  CHECK(out.message.find("bytes left for the next run") != std::string::npos);
  double lines = metric(out, "lines_read"), truncated = 0;
  for (int i = 0; i < 10 && metric(out, "backlog_bytes") > 0; ++i) {
    out = check->run();
    lines += metric(out, "lines_read");
    truncated += metric(out, "lines_truncated");
  }
  CHECK(lines == 101);
  CHECK(truncated == 1);
  CHECK(metric(out, "matches_in_window") == 100);
}

TEST_CASE("log_check: a missing file is unknown until it appears, then read whole") {
  LogFixture f;
  f.log = f.dir.file("not-yet.log");
  auto check = f.check("patterns = ['ERROR']\n");
  auto out = check->run();
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message.find("missing") != std::string::npos);
  test::writeFile(f.log, "ERROR at birth\n");
  out = check->run();
  CHECK(out.status == CheckStatus::Warn);
  CHECK(out.message.find("at birth") != std::string::npos);
}

TEST_CASE("log_position: round trip, and anything malformed is ignored") {
  checks::LogPosition file{"/var/log/with space.log", agent::platform::FollowPosition{2049, 131, 4096, true}, {}};
  CHECK(checks::parseLogPosition(checks::formatLogPosition(file)) == file);
  checks::LogPosition journal{"nginx.service", std::nullopt, "s=ab;i=1f2a;b=01;m=2d;t=60a;x=9d"};
  CHECK(checks::parseLogPosition(checks::formatLogPosition(journal)) == journal);
  for (const char* bad : {"", "file 1 2 3 0 /x", "file 1 2 x 0 /x\n", "file 1 2 3 2 /x\n", "journal u\n",
                          "journal u a b\n", "tape 1\n", "file 1 2 3 0 /x\nfile 1 2 3 0 /y\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(checks::parseLogPosition(bad));
  }
  test::TempDir dir;
  const auto path = checks::logPositionFile(dir.path(), "c");
  REQUIRE(checks::saveLogPosition(path, file));
  CHECK(checks::loadLogPosition(path) == file);
  CHECK_FALSE(std::ifstream(path + ".tmp").good());
}

TEST_CASE("log_check: a unit's journal where there is none is unknown, and no journalctl is started") {
  test::TempDir dir;
  const auto root = config::parseText(fmt::format("[[check]]\nname = \"j\"\nkind = \"log\"\nunit = \"demo.service\"\n"
                                                  "journal_dir = \"{}\"\npatterns = ['x']\n",
                                                  dir.file("no-journal")),
                                      "checks.toml");
  const checks::CheckEnv env{RealClock::instance(), dir.path()};
  auto check = checks::makeCheck(*root["check"].as_array()->front().as_table(), "checks.toml", env);
  const auto out = check->run();
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message.find("journal directory " + dir.file("no-journal") + " does not exist") != std::string::npos);
}

TEST_CASE("log_check: searching many lines at once counts exactly the lines matched one at a time") {
  const std::string keys = fmt::format(
      "patterns = ['^ERROR', 'timeout$', 'a[^x]b', '(?i)fatal']\npatterns_dir = \"{}\"\n"
      "crit_matches = 100000\nevidence_lines = 3\n",
      kPatternsDir);
  LogFixture f;
  auto check = f.check(keys);
  const auto parts =
      test::checkPartsFromToml(fmt::format("[[check]]\nname = \"l\"\nkind = \"log\"\npath = \"/a.log\"\n{}", keys));
  const checks::LogMatcher matcher(parts.fields);
  const std::vector<std::string> samples = {"ERROR at start",
                                            "not ERROR at start",
                                            "read timeout",
                                            "timeout not at end",
                                            "a",
                                            "b",
                                            "acb",
                                            "a\tb",
                                            "FaTaL",
                                            "",
                                            "BUILD SUCCESS",
                                            "Out of memory: Killed process 7 (x)",
                                            "connect: connection refused",
                                            "ok"};
  std::string text;
  std::vector<std::string> matched;
  uint32_t seed = 99;
  for (int i = 0; i < 20000; ++i) {
    seed = seed * 1103515245u + 12345u;
    const auto& line = samples[(seed >> 8) % samples.size()];
    text += line + "\n";
    if (matcher.match(line)) matched.push_back(line);
  }
  (void)check->run();
  f.append(text);
  const auto out = check->run();
  CHECK(matched.size() > 5000);
  CHECK(metric(out, "lines_read") == 20000);
  CHECK(metric(out, "matches_in_window") == static_cast<double>(matched.size()));
  std::string last = matched.back();
  std::replace(last.begin(), last.end(), '\t', ' ');  // evidence blanks control bytes
  CHECK(out.message.find("] " + last) != std::string::npos);
}
