// Checks that run real programs: the log check following a unit's journal
// through journalctl (on journal files written by systemd-journal-remote, so
// no running journald is needed), and the smart check running smartctl.
#include "agent/checks/check.h"
#include "agent/checks/log_position.h"
#include "tests/support/check_harness.h"
#include "tests/support/harness.h"
#include "tests/support/skip.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>

using namespace hale;
using namespace hale::agent;
using checks::CheckStatus;

namespace {

const std::string kJournalRemote = "/lib/systemd/systemd-journal-remote";

/// Writes `messages` of unit demo.service as a journal file in `dir`, via the export format. One boot:
/// entries are ordered by their monotonic time, which grows with the wall time given.
void writeJournal(const test::TempDir& tmp, const std::string& dir, const std::string& file,
                  const std::vector<std::string>& messages, int64_t first_usec) {
  std::string exported;
  for (size_t i = 0; i < messages.size(); ++i) {
    exported += fmt::format(
        "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"
        "_SYSTEMD_UNIT=demo.service\nPRIORITY=3\nMESSAGE={}\n\n",
        first_usec + static_cast<int64_t>(i), first_usec - 1690000000000000 + static_cast<int64_t>(i), messages[i]);
  }
  const std::string input = tmp.file(file + ".export");
  test::writeFile(input, exported);
  std::filesystem::create_directories(dir);
  REQUIRE(test::runCommand({kJournalRemote, "--output=" + dir + "/" + file, input}) == 0);
}

double metric(const checks::Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return -1;
}

struct Totals {
  double lines = 0, matches = 0;
  std::string messages;
};

/// Runs the check until `done` holds for what it has read so far.
Totals runUntil(checks::Check& check, const std::function<bool(const Totals&)>& done) {
  Totals t;
  const bool reached = test::waitFor(
      [&] {
        const auto out = check.run();
        t.lines += metric(out, "lines_read");
        t.matches = metric(out, "matches_in_window");
        t.messages += out.message + "\n";
        return done(t);
      },
      std::chrono::seconds(20));
  CHECK_MESSAGE(reached, t.messages);
  return t;
}

}  // namespace

TEST_CASE("log_check: a unit's journal through journalctl, and a restart resumes after the kept cursor") {
  if (!test::requireTool("journalctl", "systemd")) return;
  if (!test::requireTool(kJournalRemote, "systemd-journal-remote")) return;
  test::TempDir tmp;
  const std::string journal = tmp.file("journal"), state = tmp.file("state");
  writeJournal(tmp, journal, "one.journal",
               {"demo starting", "Out of memory: Killed process 4242 (demo)", "demo listening"}, 1700000000000000);
  const auto root = config::parseText(fmt::format(R"([[check]]
name = "demo-journal"
kind = "log"
unit = "demo.service"
journal_dir = "{}"
from_start = true
patterns = ['Out of memory', 'panic']
)",
                                                  journal),
                                      "checks.toml");
  const auto& table = *root["check"].as_array()->front().as_table();
  const checks::CheckEnv env{RealClock::instance(), state};
  {
    auto check = checks::makeCheck(table, "checks.toml", env);
    const auto t = runUntil(*check, [](const Totals& t) { return t.lines >= 3; });
    CHECK(t.lines == 3);
    CHECK(t.matches == 1);
    CHECK(t.messages.find("[pattern 1] Out of memory: Killed process 4242") != std::string::npos);
  }
  const auto kept = checks::loadLogPosition(checks::logPositionFile(state, "demo-journal"));
  REQUIRE(kept);
  CHECK(kept->source == "demo.service");
  CHECK(kept->cursor.find("i=3;") != std::string::npos);

  // Written while the agent was down; the entries before the cursor are not read again.
  writeJournal(tmp, journal, "two.journal", {"panic: while down", "demo back"}, 1700000001000000);
  auto again = checks::makeCheck(table, "checks.toml", env);
  const auto t =
      runUntil(*again, [](const Totals& t) { return t.messages.find("back") != std::string::npos || t.lines >= 2; });
  CHECK(t.lines == 2);
  CHECK(t.matches == 1);
  CHECK(t.messages.find("panic: while down") != std::string::npos);
}

TEST_CASE("smart_check: the real smartctl on a device that does not exist is unknown with its reason") {
  if (!test::requireTool("smartctl", "smartmontools")) return;
  const auto smart = [](const std::string& device, const std::string& program) {
    return test::checkFromToml(fmt::format(
        "[[check]]\nname = \"disk\"\nkind = \"smart\"\ndevice = \"{}\"\nsmartctl = \"{}\"\ntimeout = \"20s\"\n", device,
        program));
  };
  auto check = smart("/dev/hale-no-such-disk", "smartctl");
  const auto out = check->run();
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message.find("/dev/hale-no-such-disk") != std::string::npos);
  CHECK(out.message.find("smartctl could not read the device") != std::string::npos);

  auto missing = smart("/dev/sda", "/nonexistent/smartctl");
  const auto gone = missing->run();
  CHECK(gone.status == CheckStatus::Unknown);
  CHECK(gone.message.find("smartmontools") != std::string::npos);
}
