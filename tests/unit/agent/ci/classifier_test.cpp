// Classifier: every category on synthetic fixtures, evidence weighting, and
// hostile input (garbage, invalid UTF-8, huge lines, CRLF, ANSI colours).
#include <doctest/doctest.h>

#include <random>
#include <sstream>
#include <string>

#include "build_test_support.h"
#include "shared/util/text.h"

using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;

namespace {
Diagnosis diagnoseFixture(const std::string& name) {
  Classifier c(shippedKb());
  std::string error;
  REQUIRE(diagnoseFile(fixture(name), c, &error));
  return c.diagnose();
}
}  // namespace

TEST_CASE("classifier: each category from its fixture") {
  const std::pair<const char*, Category> cases[] = {
      {"dependency_pip.log", Category::Dependency},
      {"network_npm.log", Category::Network},
      {"network_registry_503.log", Category::Network},
      {"test_pytest.log", Category::Test},
      {"test_go.log", Category::Test},
      {"compile_gcc.log", Category::Compile},
      {"timeout_jest.log", Category::Timeout},
      {"resource_memory.log", Category::ResourceMemory},
      {"resource_disk.log", Category::ResourceDisk},
      {"permission_push.log", Category::Permission},
      {"infrastructure_docker.log", Category::Infrastructure},
      {"flaky_rerun.log", Category::Flaky},
      {"none_scary.log", Category::None},
  };
  for (const auto& [file, expected] : cases) {
    const std::string name = file;
    CAPTURE(name);
    const Diagnosis d = diagnoseFixture(file);
    CHECK(categoryName(d.category) == categoryName(expected));
    if (expected != Category::None) {
      CHECK(d.confidence > 0.5);
      CHECK_FALSE(d.evidence.empty());
      CHECK_FALSE(d.explanation.empty());
    }
  }
}

TEST_CASE("classifier: remedies follow the category") {
  CHECK(diagnoseFixture("network_npm.log").remedy == Remedy::Retry);
  CHECK(diagnoseFixture("resource_disk.log").remedy == Remedy::FreeDisk);
  CHECK(diagnoseFixture("flaky_rerun.log").remedy == Remedy::RerunFailedTests);
  CHECK(diagnoseFixture("compile_gcc.log").remedy == Remedy::None);
  CHECK(diagnoseFixture("test_pytest.log").remedy == Remedy::None);
}

TEST_CASE("classifier: evidence carries line numbers and failed test names") {
  const Diagnosis d = diagnoseFixture("test_go.log");
  REQUIRE_FALSE(d.evidence.empty());
  CHECK(d.evidence.front().line == 5);
  CHECK(d.evidence.front().text == "--- FAIL: TestEncode (0.01s)");
  CHECK(d.failed_tests == std::vector<std::string>{"TestEncode", "TestDecode/empty"});
  CHECK(d.lines == 9);
}

TEST_CASE("classifier: nothing failure-like is none without evidence") {
  const Diagnosis d = diagnoseText("Compiling widgets v0.1.0\nall good here\nerror-free since 2019\n");
  CHECK(d.category == Category::None);
  CHECK(d.evidence.empty());
  CHECK(d.remedy == Remedy::None);
}

TEST_CASE("classifier: weighting") {
  SUBCASE("the failure near the end outweighs an earlier one of equal priority") {
    std::string log = "npm ERR! code ECONNRESET\n";
    for (int i = 0; i < 2000; ++i) log += "building module " + std::to_string(i) + "\n";
    log += "src/a.c:1:2: error: unknown type name 'foo'\n";
    const Diagnosis d = diagnoseText(log);
    CHECK(d.category == Category::Compile);
    CHECK(d.secondary == Category::Network);
  }
  SUBCASE("a success marker after a transient failure means none") {
    const Diagnosis d = diagnoseText("Connection reset by peer\nretrying\n[INFO] BUILD SUCCESS\n");
    CHECK(d.category == Category::None);
  }
  SUBCASE("repeated matches raise the score") {
    const Diagnosis once = diagnoseText("x\nConnection refused\n");
    const Diagnosis many =
        diagnoseText("x\nConnection refused\nConnection refused\nConnection refused\nConnection refused\n");
    CHECK(many.category == Category::Network);
    CHECK(many.confidence > once.confidence);
  }
  SUBCASE("a specific high-priority signature beats a generic one on the same line") {
    const Diagnosis d =
        diagnoseText("c++: fatal error: Killed signal terminated program cc1plus\ncompilation terminated.\n");
    CHECK(d.category == Category::ResourceMemory);
  }
}

TEST_CASE("classifier: CRLF and ANSI colour codes are ignored") {
  const Diagnosis d = diagnoseText("ok\r\n\x1b[31m\x1b[1mnpm ERR!\x1b[0m code ECONNRESET\r\nbye\r\n");
  CHECK(d.category == Category::Network);
  REQUIRE_FALSE(d.evidence.empty());
  CHECK(d.evidence[0].text == "npm ERR! code ECONNRESET");
  CHECK(d.evidence[0].line == 2);
}

TEST_CASE("classifier: empty log") {
  const Diagnosis d = diagnoseText("");
  CHECK(d.category == Category::None);
  CHECK(d.lines == 0);
  CHECK(d.bytes == 0);
}

TEST_CASE("classifier: binary garbage and invalid UTF-8") {
  std::string garbage;
  for (int i = 0; i < 100000; ++i) garbage.push_back(static_cast<char>((i * 7919 + 13) % 256));
  SUBCASE("garbage alone does not crash") {
    const Diagnosis d = diagnoseText(garbage);
    CHECK(d.bytes == garbage.size());
  }
  SUBCASE("a signature inside garbage is found and its evidence is valid UTF-8") {
    const Diagnosis d = diagnoseText(garbage + "\n\xff\xfe No space left on device \xc3\x28\n" + garbage);
    CHECK(d.category == Category::ResourceDisk);
    REQUIRE_FALSE(d.evidence.empty());
    CHECK(hale::isValidUtf8(d.evidence[0].text));
  }
}

TEST_CASE("classifier: a 1 MB line is capped, not a crash") {
  SUBCASE("a signature early in the line is seen") {
    const std::string line = "No space left on device " + std::string(1 << 20, 'x');
    const Diagnosis d = diagnoseText("start\n" + line + "\nend\n");
    CHECK(d.category == Category::ResourceDisk);
    CHECK(d.lines == 3);
    CHECK(d.evidence[0].text.size() <= ClassifierLimits{}.max_evidence_text);
  }
  SUBCASE("past the cap it is not, even fed in small pieces") {
    const std::string line = std::string(1 << 20, 'y') + " No space left on device\nok\n";
    Classifier c(shippedKb());
    for (size_t i = 0; i < line.size(); i += 4096) c.feed(std::string_view(line).substr(i, 4096));
    const Diagnosis d = c.diagnose();
    CHECK(d.category == Category::None);
    CHECK(d.lines == 2);
  }
}

TEST_CASE("classifier: chunking does not change the result") {
  const std::string log = readAll(fixture("test_go.log")) + readAll(fixture("compile_gcc.log"));
  const Diagnosis whole = diagnoseText(log);
  Classifier c(shippedKb());
  for (char ch : log) c.feed(std::string_view(&ch, 1));
  const Diagnosis bytewise = c.diagnose();
  CHECK(bytewise.category == whole.category);
  CHECK(bytewise.lines == whole.lines);
  REQUIRE(bytewise.evidence.size() == whole.evidence.size());
  for (size_t i = 0; i < whole.evidence.size(); ++i) CHECK(bytewise.evidence[i].line == whole.evidence[i].line);
}

TEST_CASE("classifier: memory stays bounded on a long matching log") {
  ClassifierLimits limits;
  limits.max_evidence = 50;
  Classifier c(shippedKb(), limits);
  const std::string block = "Connection reset by peer\nprogress 42%\n";
  for (int i = 0; i < 100000; ++i) c.feed(block);
  const Diagnosis d = c.diagnose();
  CHECK(d.category == Category::Network);
  CHECK(d.lines == 200000);
  CHECK(d.evidence.size() <= limits.max_output_evidence);
  CHECK(c.tail().size() <= limits.tail_bytes);
  CHECK(d.evidence.back().line == 199999);
}

TEST_CASE("classifier: stdout and stderr partial lines are kept apart") {
  Classifier c(shippedKb());
  c.feed("npm ERR! code ECON", 0);
  c.feed("progress 10%\n", 1);
  c.feed("NRESET\n", 0);
  const Diagnosis d = c.diagnose();
  CHECK(d.category == Category::Network);
  CHECK(d.lines == 2);
}

TEST_CASE("classifier: common signatures across tools and CI systems") {
  std::istringstream cases(readAll(fixture("signatures.txt")));
  std::string row;
  int checked = 0;
  while (std::getline(cases, row)) {
    if (row.empty() || row[0] == '#') continue;
    const size_t bar = row.find('|');
    REQUIRE(bar != std::string::npos);
    std::string text;
    for (size_t i = bar + 1; i < row.size(); ++i) {
      if (row[i] == '\\' && i + 1 < row.size() && (row[i + 1] == 'n' || row[i + 1] == 't')) {
        text.push_back(row[++i] == 'n' ? '\n' : '\t');
      } else {
        text.push_back(row[i]);
      }
    }
    CAPTURE(text);
    CHECK(categoryName(diagnoseText(text + "\n").category) == row.substr(0, bar));
    ++checked;
  }
  CHECK(checked >= 50);
}

TEST_CASE("classifier: random bytes in random chunks never break the invariants") {
  std::mt19937 rng(20240501);
  const std::string words[] = {"npm ERR! code ECONNRESET",
                               "\x1b[31m",
                               "\r\n",
                               "\n",
                               "error: ",
                               "\xc3",
                               "\xff\xfe",
                               std::string(70000, 'z'),
                               "--- FAIL: TestX",
                               "No space left on device",
                               "\x1b]0;t\x07"};
  for (int round = 0; round < 30; ++round) {
    std::string log;
    const int pieces = static_cast<int>(rng() % 200);
    for (int i = 0; i < pieces; ++i) {
      if (rng() % 3 == 0)
        log += words[rng() % std::size(words)];
      else
        log.push_back(static_cast<char>(rng() % 256));
    }
    Classifier c(shippedKb());
    for (size_t at = 0; at < log.size();) {
      const size_t n = std::min<size_t>(log.size() - at, 1 + rng() % 5000);
      c.feed(std::string_view(log).substr(at, n), static_cast<int>(rng() % 2));
      at += n;
    }
    const Diagnosis d = c.diagnose();
    CHECK(d.bytes == log.size());
    CHECK(d.confidence >= 0.0);
    CHECK(d.confidence <= 1.0);
    for (const auto& e : d.evidence) {
      CHECK(hale::isValidUtf8(e.text));
      CHECK(e.line >= 1);
      CHECK(e.line <= d.lines);
    }
  }
}
