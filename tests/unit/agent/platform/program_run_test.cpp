// runProgram: the real thing, with real child processes.
#include "agent/platform/program_run.h"

#include <doctest/doctest.h>

#include <chrono>

using namespace hale::agent::platform;

TEST_CASE("program_run: output and exit code of a program") {
  ProgramSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 7"};
  spec.timeout = std::chrono::seconds(10);
  auto run = runProgram(spec);
  REQUIRE(run);
  CHECK(run->exit_code == 7);
  CHECK(run->output.find("out") != std::string::npos);
  CHECK(run->output.find("err") != std::string::npos);
  CHECK_FALSE(run->timed_out);
}

TEST_CASE("program_run: a start command that detaches a daemon returns when it exits, not when the daemon does") {
  // The background sleep inherits the output pipe: reading to end-of-file
  // would wait for it (here 30 s; a real daemon: forever, until the timeout).
  ProgramSpec spec;
  spec.argv = {"/bin/sh", "-c", "setsid sleep 30 & echo started"};
  spec.timeout = std::chrono::seconds(20);
  const auto start = std::chrono::steady_clock::now();
  auto run = runProgram(spec);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(run);
  CHECK(run->exit_code == 0);
  CHECK(run->output.find("started") != std::string::npos);
  CHECK_FALSE(run->timed_out);
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("program_run: a program past its timeout is killed with its group") {
  ProgramSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo begun; sleep 30"};
  spec.timeout = std::chrono::milliseconds(300);
  auto run = runProgram(spec);
  REQUIRE(run);
  CHECK(run->timed_out);
  CHECK(run->term_signal == 9);
  CHECK(run->output.find("begun") != std::string::npos);
}
