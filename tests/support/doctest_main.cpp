// The test binaries' main. CTest runs each case alone (--test-case=NAME); a
// name that matches no case would run nothing and pass, which happens when
// a name holds a ';' (CMake cuts it there). So a run that was asked for
// cases and ran none fails, and a listener counts the cases that ran.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <iostream>

namespace {
std::atomic<int> cases_run{0};

struct CaseCounter : doctest::IReporter {
  explicit CaseCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++cases_run; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("case-counter", 1, CaseCounter);

bool asksForCases(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0) return true;
  return false;
}

bool onlyQueries(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strstr(argv[i], "list") != nullptr || std::strstr(argv[i], "help") != nullptr ||
        std::strstr(argv[i], "count") != nullptr || std::strstr(argv[i], "version") != nullptr)
      return true;
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit() || onlyQueries(argc, argv)) return result;
  if (result == 0 && cases_run == 0 && asksForCases(argc, argv)) {
    std::cerr << "no test case matches the filter: nothing ran (a ';' in a name cuts it for CTest)\n";
    return 1;
  }
  return result;
}
