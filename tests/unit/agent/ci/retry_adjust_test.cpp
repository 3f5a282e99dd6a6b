// Retry adjustments of `exec`: what counts as a hang (times are inputs, no
// clock is read), how far a time limit is raised, `timeout DURATION` argv,
// and lower parallelism per tool and environment knob.
#include <doctest/doctest.h>

#include <map>

#include "agent/ci/retry_adjust.h"

using namespace hale::agent::ci;
using namespace std::chrono_literals;

namespace {

EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  };
}

std::optional<ParallelismChange> lower(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                                       unsigned cpus = 8) {
  return lessParallel(argv, envOf(std::move(env)), cpus);
}

using Argv = std::vector<std::string>;
using Env = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_CASE("retry_adjust: a step silent for the last quarter of its run hung") {
  CHECK(looksHung(Millis(60'000), Millis(10'000)));        // quiet for 50 s of 60
  CHECK(looksHung(Millis(60'000), Millis(45'000)));        // exactly the last quarter
  CHECK_FALSE(looksHung(Millis(60'000), Millis(50'000)));  // printed until 10 s before the end: slow, not stuck
  CHECK(looksHung(Millis(60'000), std::nullopt));          // never printed at all
  CHECK_FALSE(looksHung(Millis(0), std::nullopt));
  CHECK_FALSE(looksHung(Millis(60'000), Millis(30'000), Millis(40'000)));  // a minimum silence applies
}

TEST_CASE("retry_adjust: a raised limit doubles, by at most one hour") {
  CHECK(raisedTimeout(Millis(30'000)) == Millis(60'000));
  CHECK(raisedTimeout(std::chrono::hours(1)) == std::chrono::hours(2));
  CHECK(raisedTimeout(std::chrono::hours(3)) == std::chrono::hours(4));
}

TEST_CASE("retry_adjust: the duration of coreutils timeout is found after its options") {
  CHECK(parseTimeoutDuration("30") == Millis(30'000));
  CHECK(parseTimeoutDuration("1.5m") == Millis(90'000));
  CHECK(parseTimeoutDuration("2h") == std::chrono::hours(2));
  CHECK(parseTimeoutDuration("1d") == std::chrono::hours(24));
  CHECK_FALSE(parseTimeoutDuration("5x"));
  CHECK_FALSE(parseTimeoutDuration("-1"));
  const auto found = timeoutArgument({"timeout", "-k", "10", "--preserve-status", "5m", "make", "test"});
  REQUIRE(found);
  CHECK(found->first == 4);
  CHECK(found->second == Millis(300'000));
  CHECK(timeoutArgument({"/usr/bin/timeout", "-s", "KILL", "90", "sleep", "100"})->first == 3);
  CHECK_FALSE(timeoutArgument({"timeout", "90"}));  // no command after it
  CHECK_FALSE(timeoutArgument({"make", "90", "x"}));
}

TEST_CASE("retry_adjust: explicit parallelism flags are halved, per tool") {
  CHECK(lower({"make", "-j8", "all"})->argv == Argv{"make", "-j4", "all"});
  CHECK(lower({"make", "-j", "6"})->argv == Argv{"make", "-j", "3"});
  CHECK(lower({"ninja", "--jobs=10"})->argv == Argv{"ninja", "--jobs=5"});
  CHECK(lower({"cmake", "--build", "build", "--parallel", "4"})->argv ==
        Argv{"cmake", "--build", "build", "--parallel", "2"});
  CHECK(lower({"cargo", "build", "-j", "16"})->argv == Argv{"cargo", "build", "-j", "8"});
  CHECK(lower({"./gradlew", "build", "--max-workers=4"})->argv == Argv{"./gradlew", "build", "--max-workers=2"});
  CHECK(lower({"mvn", "-T", "2C", "verify"}, {}, 4)->argv == Argv{"mvn", "-T", "4", "verify"});
  CHECK(lower({"python", "-m", "pytest", "-n", "auto"}, {}, 8)->argv == Argv{"python", "-m", "pytest", "-n", "4"});
  CHECK(lower({"npx", "jest", "--maxWorkers=50%"}, {}, 8)->argv == Argv{"npx", "jest", "--maxWorkers=2"});
  CHECK(lower({"go", "test", "-p", "4", "./..."})->argv == Argv{"go", "test", "-p", "2", "./..."});
  CHECK(lower({"bazel", "build", "--jobs=32", "//..."})->argv == Argv{"bazel", "build", "--jobs=16", "//..."});
  CHECK(lower({"make", "-j8"})->what == "-j 8 -> 4");
}

TEST_CASE("retry_adjust: tools that use every CPU by default get half of them") {
  CHECK(lower({"ninja", "-C", "build"})->argv == Argv{"ninja", "-j4", "-C", "build"});
  const auto cargo = lower({"cargo", "test"});
  CHECK(cargo->argv == Argv{"cargo", "test"});
  CHECK(cargo->env == Env{{"CARGO_BUILD_JOBS", "4"}});
  CHECK(lower({"gradle", "check"})->argv == Argv{"gradle", "check", "--max-workers=4"});
  CHECK(lower({"go", "build", "./..."})->argv == Argv{"go", "build", "-p", "4", "./..."});
  CHECK(lower({"bazelisk", "test", "//..."})->argv == Argv{"bazelisk", "test", "--jobs=4", "//..."});
  CHECK(lower({"jest", "--ci"})->argv == Argv{"jest", "--ci", "--maxWorkers=4"});
  CHECK_FALSE(lower({"ninja"}, {}, 1));  // one CPU: nothing to halve
}

TEST_CASE("retry_adjust: knobs in the environment reach tools that scripts run") {
  const auto make = lower({"./build.sh"}, {{"MAKEFLAGS", "-j8 --output-sync"}});
  REQUIRE(make);
  CHECK(make->argv == Argv{"./build.sh"});
  CHECK(make->env == Env{{"MAKEFLAGS", "-j4 --output-sync"}});
  CHECK(lower({"./ci.sh"}, {{"CMAKE_BUILD_PARALLEL_LEVEL", "6"}, {"CARGO_BUILD_JOBS", "2"}})->env ==
        Env{{"CMAKE_BUILD_PARALLEL_LEVEL", "3"}, {"CARGO_BUILD_JOBS", "1"}});
  CHECK(lower({"sh", "-c", "./gradlew build"}, {{"GRADLE_OPTS", "-Xmx2g -Dorg.gradle.workers.max=8"}})->env ==
        Env{{"GRADLE_OPTS", "-Xmx2g -Dorg.gradle.workers.max=4"}});
}

TEST_CASE("retry_adjust: nothing known to lower means no retry") {
  CHECK_FALSE(lower({"./build.sh"}));
  CHECK_FALSE(lower({"make", "all"}));         // make runs one job unless told otherwise
  CHECK_FALSE(lower({"make", "-j1", "all"}));  // already one
  CHECK_FALSE(lower({"mvn", "verify"}));       // Maven builds one module at a time by default
  CHECK_FALSE(lower({"./build.sh"}, {{"MAKEFLAGS", "-j1"}}));
}

TEST_CASE("retry_adjust: when V8's own heap ran out, Node's heap limit is raised, never lowered") {
  const auto raised = lessParallel({"npm", "run", "build"}, envOf({}), 8, true, 6144);
  REQUIRE(raised);
  CHECK(raised->env == Env{{"NODE_OPTIONS", "--max-old-space-size=6144"}});
  const auto replaced = lessParallel(
      {"npx", "next", "build"}, envOf({{"NODE_OPTIONS", "--trace-warnings --max-old-space-size=2048"}}), 8, true, 6144);
  CHECK(replaced->env == Env{{"NODE_OPTIONS", "--trace-warnings --max-old-space-size=6144"}});
  CHECK_FALSE(
      lessParallel({"npm", "run", "build"}, envOf({{"NODE_OPTIONS", "--max-old-space-size=8192"}}), 8, true, 6144));
}
