// The journalctl JSON parser on lines as journalctl writes them
// (tests/fixtures/journal/nginx.jsonl): MESSAGE as a string, as bytes, as
// null, given twice; what is not JSON. Following a real journal is in
// tests/integration/log_sources_test.cpp (it needs journalctl).
#include "agent/platform/journal_follower.h"
#include "tests/support/harness.h"

#include <doctest/doctest.h>

#include <sstream>

using namespace hale;
using hale::agent::platform::parseJournalLine;

namespace {
std::vector<std::string> fixtureLines() {
  std::istringstream in(test::readFile(test::sourceDir() + "/tests/fixtures/journal/nginx.jsonl"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}
}  // namespace

TEST_CASE("journal_json: journalctl -o json lines, every form of MESSAGE") {
  const auto lines = fixtureLines();
  REQUIRE(lines.size() == 8);
  auto started = parseJournalLine(lines[0]);
  REQUIRE(started);
  CHECK(started->message == "Started nginx.service - A high performance web server.");
  CHECK(started->priority == 6);
  CHECK(started->cursor.find("i=1f2a;") != std::string::npos);

  auto tls = parseJournalLine(lines[1]);
  REQUIRE(tls);
  CHECK(tls->message.find("certificate verify failed") != std::string::npos);
  CHECK(tls->priority == 3);

  auto bytes = parseJournalLine(lines[2]);  // not UTF-8: journalctl writes an array of byte values
  REQUIRE(bytes);
  CHECK(bytes->message == std::string("caf\xc3\x28 bytes"));

  auto null_message = parseJournalLine(lines[3]);
  REQUIRE(null_message);
  CHECK(null_message->message.empty());
  CHECK_FALSE(null_message->cursor.empty());

  auto twice = parseJournalLine(lines[4]);
  REQUIRE(twice);
  CHECK(twice->message == "first value second value");
  CHECK(twice->priority == -1);

  auto oom = parseJournalLine(lines[5]);
  REQUIRE(oom);
  CHECK(oom->message.rfind("Out of memory: Killed process 4242", 0) == 0);

  CHECK_FALSE(parseJournalLine(lines[6]));  // journalctl's complaints on stderr share the pipe
  CHECK_FALSE(parseJournalLine(lines[7]));
}

TEST_CASE("journal_json: malformed and hostile lines are errors or empty entries, never a crash") {
  CHECK_FALSE(parseJournalLine(""));
  CHECK_FALSE(parseJournalLine("{"));
  CHECK_FALSE(parseJournalLine("[1,2,3]"));
  CHECK_FALSE(parseJournalLine("{\"MESSAGE\":\"x\"} trailing"));
  auto wrong_types = parseJournalLine(R"({"MESSAGE":{"a":1},"__CURSOR":5,"PRIORITY":"12"})");
  REQUIRE(wrong_types);
  CHECK(wrong_types->message.empty());
  CHECK(wrong_types->cursor.empty());
  CHECK(wrong_types->priority == -1);
  auto bad_bytes = parseJournalLine(R"({"MESSAGE":[104,-1,300,105,"x"]})");
  REQUIRE(bad_bytes);
  CHECK(bad_bytes->message == "hi");  // values that are not bytes are dropped
  auto nested = parseJournalLine(R"({"MESSAGE":[[104,105],[33]]})");
  REQUIRE(nested);
  CHECK(nested->message == "hi !");
  const std::string deep = "{\"MESSAGE\":" + std::string(20000, '[') + std::string(20000, ']') + "}";
  auto deep_entry = parseJournalLine(deep);  // no recursion per level: nothing but journalctl's forms is read
  REQUIRE(deep_entry);
  CHECK(deep_entry->message.empty());
}
