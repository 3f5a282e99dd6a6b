// JUnit reports: names, failures, skipped, flaky (Surefire flakyFailure and
// failed-then-passed across reruns), CDATA and comments, malformed input.
#include <doctest/doctest.h>

#include <random>

#include "agent/ci/junit_report.h"
#include "build_test_support.h"

using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;

TEST_CASE("junit_report: failures, skips and flaky tests") {
  const auto s = parseJUnitFile(fixture("junit_flaky.xml"));
  REQUIRE(s.has_value());
  CHECK(s->cases == 6);
  CHECK(s->failed == std::vector<std::string>{"com.acme.CacheTest.broken"});
  CHECK(s->flaky == std::vector<std::string>{"com.acme.CacheTest.expires", "com.acme.CacheTest.loads"});
  CHECK(s->passed == std::vector<std::string>{"com.acme.CacheTest.evicts"});
  CHECK(s->skipped == std::vector<std::string>{"com.acme.CacheTest.ignored"});
  CHECK(s->messages.at("com.acme.CacheTest.expires") == "expected <1> but was <2>");
  CHECK(s->messages.at("com.acme.CacheTest.broken") == "NullPointerException");
  CHECK(categoryOf(*s) == Category::Test);
}

TEST_CASE("junit_report: failed then passed in a later report is flaky") {
  JUnitParser p;
  p.feed(R"(<testsuite><testcase classname="a.B" name="t1"><failure message="boom"/></testcase>)"
         R"(<testcase classname="a.B" name="t2"/></testsuite>)");
  p.feed(R"(<testsuite><testcase classname="a.B" name="t1"/></testsuite>)");
  const auto s = p.summary();
  CHECK(s.flaky == std::vector<std::string>{"a.B.t1"});
  CHECK(s.failed.empty());
  CHECK(categoryOf(s) == Category::Flaky);
}

TEST_CASE("junit_report: passed then failed stays failed") {
  JUnitParser p;
  p.feed(R"(<testcase name="t"/><testcase name="t"><error/></testcase>)");
  CHECK(p.summary().failed == std::vector<std::string>{"t"});
}

TEST_CASE("junit_report: fed one byte at a time gives the same summary") {
  const std::string xml = readAll(fixture("junit_flaky.xml"));
  JUnitParser p;
  for (char c : xml) p.feed(std::string_view(&c, 1));
  const auto whole = parseJUnitFile(fixture("junit_flaky.xml"));
  CHECK(p.summary().flaky == whole->flaky);
  CHECK(p.summary().failed == whole->failed);
  CHECK(p.summary().cases == whole->cases);
}

TEST_CASE("junit_report: malformed and hostile input") {
  SUBCASE("truncated document keeps what was complete") {
    JUnitParser p;
    p.feed(R"(<testsuite><testcase name="ok"/><testcase name="cut"><failure message="x)");
    CHECK(p.summary().passed == std::vector<std::string>{"ok"});
    CHECK(p.summary().failed.empty());
  }
  SUBCASE("garbage") {
    JUnitParser p;
    std::string junk;
    for (int i = 0; i < 50000; ++i) junk.push_back(static_cast<char>(i * 31 % 256));
    p.feed(junk);
    CHECK(p.summary().cases < 50000);
  }
  SUBCASE("test names are bounded") {
    JUnitLimits limits;
    limits.max_tests = 10;
    JUnitParser p(limits);
    for (int i = 0; i < 100; ++i) p.feed("<testcase name=\"t" + std::to_string(i) + "\"/>");
    CHECK(p.summary().passed.size() == 10);
    CHECK(p.summary().truncated);
  }
  SUBCASE("an oversized tag is skipped") {
    JUnitLimits limits;
    limits.max_tag = 64;
    JUnitParser p(limits);
    p.feed("<testcase name=\"" + std::string(1000, 'n') + "\"/><testcase name=\"small\"/>");
    CHECK(p.summary().passed == std::vector<std::string>{"small"});
  }
  SUBCASE("unreadable file") { CHECK_FALSE(parseJUnitFile("/nonexistent/report.xml").has_value()); }
}

TEST_CASE("junit_report: reports refine a log diagnosis") {
  JUnitParser flaky;
  flaky.feed(R"(<testcase name="t"><failure/></testcase><testcase name="t"/>)");
  Diagnosis d;
  d.category = Category::Test;
  refineWithJUnit(d, flaky.summary());
  CHECK(d.category == Category::Flaky);
  CHECK(d.secondary == Category::Test);
  CHECK(d.remedy == Remedy::RerunFailedTests);

  JUnitParser failed;
  failed.feed(R"(<testcase classname="c" name="broken"><error/></testcase>)");
  Diagnosis none;
  refineWithJUnit(none, failed.summary());
  CHECK(none.category == Category::Test);
  CHECK(none.failed_tests == std::vector<std::string>{"c.broken"});

  Diagnosis compile;
  compile.category = Category::Compile;
  refineWithJUnit(compile, flaky.summary());
  CHECK(compile.category == Category::Compile);
}

TEST_CASE("junit_report: random fragments of XML never crash the parser") {
  std::mt19937 rng(7);
  const std::string parts[] = {"<testcase name=\"a\">",
                               "</testcase>",
                               "<failure message=\"x&amp;\"/>",
                               "<![CDATA[",
                               "]]>",
                               "<!--",
                               "-->",
                               "<skipped/>",
                               "<testcase classname='c' name='b'/>",
                               "\"",
                               "'",
                               "<",
                               ">",
                               "<flakyFailure/>",
                               "\xff"};
  for (int round = 0; round < 200; ++round) {
    JUnitParser p;
    std::string xml;
    for (int i = 0; i < 60; ++i) xml += parts[rng() % std::size(parts)];
    for (size_t at = 0; at < xml.size(); at += 1 + rng() % 17) p.feed(std::string_view(xml).substr(at, 1 + rng() % 17));
    const auto s = p.summary();
    CHECK(s.failed.size() + s.flaky.size() + s.passed.size() + s.skipped.size() <= s.cases);
  }
}
