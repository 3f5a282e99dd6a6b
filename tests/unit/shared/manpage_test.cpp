// The manual pages in docs/man/ are generated from the programs' command
// tables; this test fails when a command changed and the pages were not
// regenerated (HALE_WRITE_DOCS=1 hale_unit_tests -tc='manpage*' rewrites them).
#include "shared/util/manpage.h"
#include "agent/cli/cli.h"
#include "aggregator/cli/cli.h"
#include "tests/support/harness.h"
#include "tests/support/skip.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace hale;

namespace {
void checkPage(const std::string& path, const std::string& expected) {
  std::string current;
  if (std::ifstream in(path); in) current.assign(std::istreambuf_iterator<char>(in), {});
  if (current != expected && std::getenv("HALE_WRITE_DOCS")) {
    std::ofstream(path) << expected;
    current = expected;
  }
  CHECK_MESSAGE(current == expected, path << " is out of date: run HALE_WRITE_DOCS=1 hale_unit_tests -tc='manpage*'");
}

/// The command names `PROGRAM --help` lists (indented lines after "commands:").
std::vector<std::string> listedCommands(const std::string& program, const test::TempDir& dir) {
  const std::string out = dir.file(program + ".help");
  REQUIRE(test::runCommand({test::binaryDir() + "/" + program, "--help"}, out) == 0);
  std::istringstream lines(test::readFile(out));
  std::vector<std::string> names;
  bool in_commands = false;
  for (std::string line; std::getline(lines, line);) {
    if (line == "commands:")
      in_commands = true;
    else if (line.empty())
      in_commands = false;
    else if (in_commands && line.rfind("  ", 0) == 0)
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}
}  // namespace

TEST_CASE("manpage: escaping keeps roff from reading text as requests") {
  CHECK(man::escape("a-b") == "a\\-b");
  CHECK(man::escape("C:\\x") == "C:\\ex");
  CHECK(man::escape(".hidden\n'quote") == "\\&.hidden\n\\&'quote");
}

TEST_CASE("manpage: docs/man pages are generated from the command tables") {
  checkPage(std::string(HALE_SOURCE_DIR) + "/docs/man/hale-agent.1", agent::cli::manPage());
  checkPage(std::string(HALE_SOURCE_DIR) + "/docs/man/hale-aggregator.1", aggregator::cli::manPage());
}

TEST_CASE("manpage: every subcommand the help lists is in the page") {
  test::TempDir dir;
  for (const std::string program : {"hale-agent", "hale-aggregator"}) {
    const std::string page = test::readFile(std::string(HALE_SOURCE_DIR) + "/docs/man/" + program + ".1");
    const auto names = listedCommands(program, dir);
    CHECK(names.size() >= 7);
    for (const auto& name : names) {
      INFO(program << " " << name);
      CHECK(page.find(".B " + man::escape(name) + "\n") != std::string::npos);
    }
  }
}

TEST_CASE("manpage: man renders the pages") {
  if (!test::requireTool("man", "man-db")) return;
  test::TempDir dir;
  for (const std::string program : {"hale-agent", "hale-aggregator"}) {
    const std::string out = dir.file(program + ".txt");
    REQUIRE(test::runCommand({"/bin/sh", "-c",
                              "MANWIDTH=100 man -l " + std::string(HALE_SOURCE_DIR) + "/docs/man/" + program + ".1 2>" +
                                  dir.file("err") + " | cat"},
                             out) == 0);
    const std::string text = test::readFile(out);
    CHECK(text.find("SYNOPSIS") != std::string::npos);
    CHECK(text.find("COMMANDS") != std::string::npos);
    CHECK(test::readFile(dir.file("err")).empty());
  }
}
