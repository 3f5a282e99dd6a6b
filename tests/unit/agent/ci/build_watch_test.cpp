// Watch mode: the inotify and polling watchers on a real temporary directory
// (complete files only), and the classification of dropped logs and JUnit
// reports, flaky tests across the reports of one run and within one report.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "agent/ci/build_watch.h"
#include "agent/platform/dir_watcher.h"
#include "build_test_support.h"

using namespace hale::agent;
using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;
using namespace std::chrono_literals;

namespace {

// Runs the io_context until `want` files were reported or `limit` passed.
std::vector<std::string> collect(asio::io_context& io, std::vector<std::string>& seen, size_t want,
                                 std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (seen.size() < want && std::chrono::steady_clock::now() < until) io.run_for(20ms);
  return seen;
}

std::string name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

const char* kReportFailed = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.CartTest" tests="2" failures="1">
  <testcase classname="com.acme.CartTest" name="addsItem" time="0.1">
    <failure message="expected:&lt;2&gt; but was:&lt;1&gt;" type="AssertionError">trace</failure>
  </testcase>
  <testcase classname="com.acme.CartTest" name="removesItem" time="0.1"/>
</testsuite>
)";
const char* kReportPassed = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.CartTest" tests="1" failures="0">
  <testcase classname="com.acme.CartTest" name="addsItem" time="0.1"/>
</testsuite>
)";

}  // namespace

TEST_CASE("dir watcher: inotify reports files closed after writing and renamed in, never one still open") {
  TempDir dir;
  asio::io_context io;
  auto watcher = platform::makeInotifyWatcher(io);
  REQUIRE(watcher);
  REQUIRE((*watcher)->add(dir.path()));
  CHECK_FALSE((*watcher)->add(dir.file("missing")));
  std::vector<std::string> seen;
  (*watcher)->start([&](const std::string& p) { seen.push_back(p); });

  const int open_fd = ::open(dir.file("open.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(open_fd >= 0);
  REQUIRE(::write(open_fd, "half", 4) == 4);
  writeFile(dir.file(".hidden.tmp"), "temporary");
  std::filesystem::rename(dir.file(".hidden.tmp"), dir.file("renamed.xml"));
  writeFile(dir.file("closed.log"), "done\n");
  collect(io, seen, 2, 2s);
  REQUIRE(seen.size() == 2);
  CHECK(name(seen[0]) == "renamed.xml");
  CHECK(name(seen[1]) == "closed.log");
  ::close(open_fd);  // now it is complete
  collect(io, seen, 3, 2s);
  REQUIRE(seen.size() == 3);
  CHECK(name(seen[2]) == "open.log");
  (*watcher)->stop();
}

TEST_CASE("dir watcher: polling reports a new file once it held still, and not the files already there") {
  TempDir dir;
  writeFile(dir.file("old.log"), "before the watch\n");
  asio::io_context io;
  auto watcher = platform::makePollingWatcher(io, 30ms);
  REQUIRE(watcher->add(dir.path()));
  std::vector<std::string> seen;
  watcher->start([&](const std::string& p) { seen.push_back(p); });
  writeFile(dir.file("new.log"), "after\n");
  writeFile(dir.file(".partial.tmp"), "ignored\n");
  collect(io, seen, 1, 2s);
  io.run_for(100ms);  // nothing more: old.log, the temporary, and no second report of new.log
  REQUIRE(seen.size() == 1);
  CHECK(name(seen[0]) == "new.log");
  watcher->stop();
}

TEST_CASE("watch classification: a log gets the log diagnosis, a JUnit report its failed tests") {
  TempDir dir;
  BuildFileClassifier classifier(shippedKb());
  writeFile(dir.file("step.log"), "npm ERR! code ECONNRESET\nnpm ERR! network socket hang up\n");
  const auto log = classifier.classify(dir.file("step.log"));
  REQUIRE(log);
  CHECK_FALSE(log->junit);
  CHECK(log->diagnosis.category == Category::Network);

  writeFile(dir.file("TEST-cart.xml"), kReportFailed);
  const auto report = classifier.classify(dir.file("TEST-cart.xml"));
  REQUIRE(report);
  CHECK(report->junit);
  CHECK(report->diagnosis.category == Category::Test);
  CHECK(report->diagnosis.failed_tests == std::vector<std::string>{"com.acme.CartTest.addsItem"});
  REQUIRE_FALSE(report->diagnosis.evidence.empty());
  CHECK(report->diagnosis.evidence[0].text == "FAILED com.acme.CartTest.addsItem: expected:<2> but was:<1>");
  const BuildAttempt a = attemptFor(*report);
  CHECK(a.command == std::vector<std::string>{"watch", dir.file("TEST-cart.xml")});
  CHECK(a.category == Category::Test);
  CHECK(watchedFileToJson(*report).find("\"failed\":[\"com.acme.CartTest.addsItem\"]") != std::string::npos);
  CHECK_FALSE(classifier.classify(dir.file("missing.log")));
}

TEST_CASE("watch classification: a test that failed in one report and passed in a later one of the run is flaky") {
  TempDir dir;
  BuildFileClassifier classifier(shippedKb(), 10min);
  writeFile(dir.file("run1.xml"), kReportFailed);
  writeFile(dir.file("run2.xml"), kReportPassed);
  CHECK(classifier.classify(dir.file("run1.xml"))->diagnosis.category == Category::Test);
  const auto second = classifier.classify(dir.file("run2.xml"));
  REQUIRE(second);
  CHECK(second->diagnosis.category == Category::Flaky);
  CHECK(second->diagnosis.remedy == Remedy::RerunFailedTests);
  CHECK(second->tests->flaky == std::vector<std::string>{"com.acme.CartTest.addsItem"});

  // Another directory is another run: no history there.
  TempDir other;
  writeFile(other.file("run2.xml"), kReportPassed);
  CHECK(classifier.classify(other.file("run2.xml"))->diagnosis.category == Category::None);
}

TEST_CASE("watch classification: after a pause longer than the run gap, a report starts a new run") {
  TempDir dir;
  BuildFileClassifier classifier(shippedKb(), 50ms);
  writeFile(dir.file("a.xml"), kReportFailed);
  writeFile(dir.file("b.xml"), kReportPassed);
  CHECK(classifier.classify(dir.file("a.xml"))->diagnosis.category == Category::Test);
  std::this_thread::sleep_for(120ms);
  CHECK(classifier.classify(dir.file("b.xml"))->diagnosis.category == Category::None);
}

TEST_CASE("watch classification: reruns recorded within one report (pytest-rerunfailures, Surefire)") {
  TempDir dir;
  BuildFileClassifier classifier(shippedKb());
  // pytest-rerunfailures 16.6.1+: one record per attempt, the failed attempts empty.
  writeFile(dir.file("pytest.xml"), R"(<?xml version="1.0" encoding="utf-8"?><testsuites>
<testsuite name="pytest" errors="0" failures="1" tests="4">
<testcase classname="tests.test_api" name="test_retry_ok" time="0.1" />
<testcase classname="tests.test_api" name="test_retry_ok" time="0.1" />
<testcase classname="tests.test_api" name="test_always_fails" time="0.1" />
<testcase classname="tests.test_api" name="test_always_fails" time="0.1"><failure message="assert False">E</failure></testcase>
<testcase classname="tests.test_api" name="test_plain" time="0.1" />
</testsuite></testsuites>)");
  const auto py = classifier.classify(dir.file("pytest.xml"));
  REQUIRE(py);
  CHECK(py->tests->flaky == std::vector<std::string>{"tests.test_api.test_retry_ok"});
  CHECK(py->tests->failed == std::vector<std::string>{"tests.test_api.test_always_fails"});
  CHECK(py->diagnosis.category == Category::Test);
  CHECK(py->diagnosis.secondary == Category::Flaky);

  // Surefire with rerunFailingTestsCount: flakyFailure (passed on a rerun), rerunFailure (failed every time).
  TempDir sure;
  writeFile(sure.file("TEST-x.xml"), R"(<testsuite name="x.PayTest">
<testcase classname="x.PayTest" name="charges"><flakyFailure message="timeout" type="java.net.SocketTimeoutException"/></testcase>
<testcase classname="x.PayTest" name="refunds"/>
</testsuite>)");
  const auto s = classifier.classify(sure.file("TEST-x.xml"));
  REQUIRE(s);
  CHECK(s->diagnosis.category == Category::Flaky);
  CHECK(s->diagnosis.evidence[0].text == "FLAKY x.PayTest.charges: timeout");

  // Outside a pytest suite, two records of one name are not taken for a rerun.
  TempDir plain;
  writeFile(plain.file("jest.xml"), R"(<testsuites><testsuite name="cart">
<testcase classname="cart adds" name="cart adds"/><testcase classname="cart adds" name="cart adds"/>
</testsuite></testsuites>)");
  CHECK(classifier.classify(plain.file("jest.xml"))->diagnosis.category == Category::None);
}
