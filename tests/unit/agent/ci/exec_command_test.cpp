// exec: real child processes (/bin/sh scripts as the step): exit codes,
// signals, timeouts that kill the whole process group, separate streams,
// remedies and their limits.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "agent/ci/build_remedies.h"
#include "agent/ci/exec_command.h"
#include "build_test_support.h"
#include "tests/support/harness.h"

using namespace hale::agent::ci;
using namespace hale::agent::ci::testing;
using namespace std::chrono_literals;

namespace {

struct Recorder : BuildObserver {
  std::vector<BuildAttempt> attempts;
  std::atomic<int> recorded{0};  // read by a test's other thread; `attempts` only after the run
  void onAttempt(const BuildAttempt& a) override {
    attempts.push_back(a);
    ++recorded;
  }
};

// Runs `script` under /bin/sh with stdout/stderr going to files in `dir`.
struct ExecRun {
  TempDir dir;
  ExecOptions options;
  Recorder recorder;
  explicit ExecRun(const std::string& script) {
    options.command = {"/bin/sh", "-c", script};
    options.retry_delay = 10ms;
    options.kill_grace = 300ms;
  }
  int run() {
    const int out = ::open(dir.file("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int err = ::open(dir.file("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    options.stdout_fd = out;
    options.stderr_fd = err;
    const int rc = runExec(options, &shippedKb(), &recorder);
    ::close(out);
    ::close(err);
    return rc;
  }
  std::string out() const { return readAll(dir.file("out")); }
  std::string err() const { return readAll(dir.file("err")); }
};

// Gone or a zombie (dead, waiting for whoever adopted it to reap it).
bool processGone(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    const std::string stat = readAll("/proc/" + std::to_string(pid) + "/stat");
    const size_t paren = stat.rfind(')');
    if (stat.empty() || (paren != std::string::npos && stat.compare(paren + 2, 1, "Z") == 0)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("exec_command: exit code and output pass through, streams kept apart") {
  ExecRun r("printf 'to stdout\\n'; printf 'to stderr\\n' >&2; exit 7");
  CHECK(r.run() == 7);
  CHECK(r.out() == "to stdout\n");
  CHECK(r.err().find("to stderr\n") == 0);
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].exit_code == 7);
}

TEST_CASE("exec_command: success is one attempt with no diagnosis") {
  ExecRun r("echo 'npm ERR! code ECONNRESET (but it recovered)'; exit 0");
  CHECK(r.run() == 0);
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].category == Category::None);
}

TEST_CASE("exec_command: a signal becomes 128+N") {
  ExecRun r("kill -TERM $$");
  CHECK(r.run() == 128 + SIGTERM);
}

TEST_CASE("exec_command: timeout kills the process group, grandchild included") {
  ExecRun r("");
  r.options.command = {"/bin/sh", "-c", "sleep 30 & echo $! > " + r.dir.file("pid") + "; wait"};
  r.options.timeout = 300ms;
  r.options.max_attempts = 1;  // a hang would be retried once with a longer limit (tested below)
  const auto start = std::chrono::steady_clock::now();
  CHECK(r.run() == 124);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  const pid_t grandchild = std::stoi(readAll(r.dir.file("pid")));
  CHECK(processGone(grandchild));
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].timed_out);
  CHECK(r.recorder.attempts[0].category == Category::Timeout);
}

TEST_CASE("exec_command: a child ignoring SIGTERM is killed after the grace period") {
  ExecRun r("trap '' TERM; sleep 30");
  r.options.timeout = 200ms;
  r.options.max_attempts = 1;
  const auto start = std::chrono::steady_clock::now();
  CHECK(r.run() == 124);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 450ms);
  CHECK(took < 5s);
}

TEST_CASE("exec_command: a child that closes stdout early is still waited for") {
  ExecRun r("echo early; exec 1>&- 2>&-; sleep 0.3; exit 4");
  CHECK(r.run() == 4);
  CHECK(r.out() == "early\n");
}

TEST_CASE("exec_command: network failure is retried and succeeds on the 2nd attempt") {
  ExecRun r("");
  const std::string marker = r.dir.file("marker");
  r.options.command = {"/bin/sh", "-c",
                       "if [ -f " + marker + " ]; then echo installed; exit 0; fi; touch " + marker +
                           "; echo 'npm ERR! code ECONNRESET' >&2; exit 1"};
  CHECK(r.run() == 0);
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[0].category == Category::Network);
  CHECK(r.recorder.attempts[0].remedy == Remedy::Retry);
  CHECK(r.recorder.attempts[0].evidence.at(0).text == "npm ERR! code ECONNRESET");
  CHECK(r.recorder.attempts[1].attempt == 2);
  CHECK(r.recorder.attempts[1].exit_code == 0);
}

TEST_CASE("exec_command: retries stop at --max-attempts") {
  ExecRun r("echo 'Could not resolve host: registry.example.org'; exit 6");
  r.options.max_attempts = 2;
  CHECK(r.run() == 6);
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[1].remedy == Remedy::None);
}

TEST_CASE("exec_command: compile and test failures are not retried") {
  SUBCASE("compile") {
    ExecRun r("echo 'main.c:3:5: error: expected ; before return'; exit 1");
    CHECK(r.run() == 1);
    REQUIRE(r.recorder.attempts.size() == 1);
    CHECK(r.recorder.attempts[0].category == Category::Compile);
    CHECK(r.recorder.attempts[0].remedy == Remedy::None);
  }
  SUBCASE("test") {
    ExecRun r("echo '--- FAIL: TestX (0.00s)'; echo FAIL; exit 1");
    CHECK(r.run() == 1);
    CHECK(r.recorder.attempts.size() == 1);
  }
}

TEST_CASE("exec_command: dry-run and off policies never rerun") {
  for (ExecPolicy policy : {ExecPolicy::DryRun, ExecPolicy::Off}) {
    ExecRun r("echo 'Connection reset by peer'; exit 3");
    r.options.policy = policy;
    CHECK(r.run() == 3);
    CHECK(r.recorder.attempts.size() == 1);
  }
}

TEST_CASE("exec_command: clear-cache empties only the known cache, then retries") {
  ExecRun r("");
  const std::string home = r.dir.file("home");
  std::filesystem::create_directories(home + "/.npm/_cacache/content");
  writeFile(home + "/.npm/_cacache/content/blob", "corrupt");
  writeFile(home + "/.npm/keep.txt", "user file");
  const std::string marker = r.dir.file("marker");
  r.options.cache_home = home;
  r.options.command = {
      "/bin/sh", "-c",
      "if [ -f " + marker + " ]; then exit 0; fi; touch " + marker + "; echo 'npm ERR! code EINTEGRITY'; exit 1"};
  CHECK(r.run() == 0);
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[0].remedy == Remedy::ClearCache);
  CHECK_FALSE(std::filesystem::exists(home + "/.npm/_cacache"));
  CHECK(readAll(home + "/.npm/keep.txt") == "user file");
}

TEST_CASE("exec_command: no cache to clear means no retry") {
  ExecRun r("echo 'npm ERR! code EINTEGRITY'; exit 1");
  r.options.cache_home = r.dir.file("empty-home");
  CHECK(r.run() == 1);
  CHECK(r.recorder.attempts.size() == 1);
}

TEST_CASE("exec_command: free-disk hook runs, then the step is retried") {
  ExecRun r("");
  const std::string freed = r.dir.file("freed");
  writeFile(r.dir.file("hook.sh"), "#!/bin/sh\ntouch " + freed + "\n");
  std::filesystem::permissions(r.dir.file("hook.sh"), std::filesystem::perms::owner_all);
  r.options.free_disk_command = {r.dir.file("hook.sh")};
  r.options.command = {"/bin/sh", "-c",
                       "if [ -f " + freed + " ]; then exit 0; fi; echo 'write error: No space left on device'; exit 1"};
  CHECK(r.run() == 0);
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[0].remedy == Remedy::FreeDisk);
}

TEST_CASE("exec_command: a command that cannot start exits 127") {
  ExecRun r("");
  r.options.command = {"/nonexistent/tool"};
  CHECK(r.run() == 127);
  CHECK(r.err().find("cannot run /nonexistent/tool") != std::string::npos);
}

TEST_CASE("exec_command: argument parsing") {
  ExecOptions o;
  CHECK(
      parseExecArgs({"--timeout", "5m", "--max-attempts", "4", "--policy", "dry-run", "--", "make", "-j2"}, o).empty());
  CHECK(o.timeout == std::chrono::minutes(5));
  CHECK(o.max_attempts == 4);
  CHECK(o.policy == ExecPolicy::DryRun);
  CHECK(o.command == std::vector<std::string>{"make", "-j2"});
  ExecOptions bad;
  CHECK(parseExecArgs({"--max-attempts", "0", "--", "x"}, bad) == "--max-attempts must be 1..10");
  ExecOptions named;
  CHECK(parseExecArgs({"--policy", "ci", "--", "x"}, named).empty());
  CHECK(named.policy_name == "ci");
  CHECK(parseExecArgs({"--policy", "-x", "--", "x"}, bad).find("bad policy") == 0);
  CHECK(runExecCommand({"--policy", "ci", "--", "true"}, nullptr) == 2);  // no agent configuration to find it in
  CHECK(parseExecArgs({"--timeout", "soon", "--", "x"}, bad) == "bad --timeout soon");
  CHECK(parseExecArgs({"make"}, bad).find("missing value") != std::string::npos);
  CHECK(parseExecArgs({"--"}, bad) == "no command given after --");
  CHECK(runExecCommand({"--frobnicate", "1", "--", "true"}, nullptr) == 2);
}

TEST_CASE("build_remedies: rerun only the failed tests where supported") {
  using V = std::vector<std::string>;
  CHECK(rerunFailedTestsCommand({"pytest", "-q", "tests"}, {}) == V{"pytest", "-q", "tests", "--lf"});
  CHECK(rerunFailedTestsCommand({"python3", "-m", "pytest"}, {}) == V{"python3", "-m", "pytest", "--lf"});
  CHECK(rerunFailedTestsCommand({"npx", "jest", "--ci"}, {}) == V{"npx", "jest", "--ci", "--onlyFailures"});
  CHECK(rerunFailedTestsCommand({"go", "test", "./..."}, {"TestA", "TestB/sub"}) ==
        V{"go", "test", "-run", "^(TestA|TestB)$", "./..."});
  CHECK_FALSE(rerunFailedTestsCommand({"go", "test", "./..."}, {}).has_value());
  CHECK_FALSE(rerunFailedTestsCommand({"make", "check"}, {"x"}).has_value());
}

TEST_CASE("build_remedies: cache clearing refuses unsafe homes and symlinks") {
  CHECK(cacheKindForCommand({"npm", "ci"}) == "npm");
  CHECK(cacheKindForCommand({"python3", "-m", "pip", "install", "x"}) == "pip");
  CHECK(cacheKindForCommand({"./gradlew", "build"}) == "gradle");
  CHECK(cacheKindForCommand({"make"}).empty());
  CHECK(cacheKindForCommand({"yarn", "install"}) == "yarn");
  CHECK(cacheKindForCommand({"/usr/local/bin/pnpm", "i"}) == "pnpm");
  CHECK(cacheKindForCommand({"go", "build", "./..."}) == "go");
  CHECK(clearPackageCache("npm", "/").empty());
  CHECK(clearPackageCache("npm", "relative/home").empty());
  CHECK(clearPackageCache("unknown", "/tmp").empty());
  TempDir dir;
  std::filesystem::create_directories(dir.file("real"));
  writeFile(dir.file("real/precious"), "x");
  std::filesystem::create_directories(dir.file("home/.m2"));
  std::filesystem::create_directory_symlink(dir.file("real"), dir.file("home/.m2/repository"));
  CHECK(clearPackageCache("maven", dir.file("home")).empty());
  CHECK(std::filesystem::exists(dir.file("real/precious")));
}

TEST_CASE("exec_command: an interrupt is forwarded to the step and stops retries") {
  std::atomic<int> interrupt{0};
  // Left alone, the step would end with status 0 after its sleep; a retryable
  // line comes first, so only the interrupt stops a retry.
  ExecRun r("echo 'Connection reset by peer'; exec sleep 30");
  r.options.interrupt = &interrupt;
  std::atomic<bool> observed{false};
  std::thread raise([&] {
    // Raised once the step has printed (it is running), never after a guessed delay.
    observed = hale::test::waitFor([&] { return r.out().find("Connection reset") != std::string::npos; }, 60s);
    interrupt = SIGINT;
  });
  const int rc = r.run();
  raise.join();
  CHECK(observed);
  CHECK(rc == 128 + SIGINT);
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].exit_code == 128 + SIGINT);  // the step itself died of the forwarded signal
  CHECK(r.recorder.attempts[0].category == Category::Network);
  CHECK(r.recorder.attempts[0].remedy == Remedy::None);  // no retry planned after an interrupt
}

TEST_CASE("exec_command: flaky tests shown by a JUnit report are rerun alone (pytest --lf)") {
  ExecRun r("");
  const std::string report = r.dir.file("report.xml");
  const std::string runner = r.dir.file("pytest");  // a stand-in runner: the name selects the rerun flag
  writeFile(runner,
            "#!/bin/sh\n"
            "for a in \"$@\"; do [ \"$a\" = --lf ] && { echo rerun-only-failed; exit 0; }; done\n"
            "cat > " +
                report +
                " <<'X'\n"
                "<testsuite><testcase classname=\"t\" name=\"a\"><failure/></testcase>"
                "<testcase classname=\"t\" name=\"a\"/></testsuite>\nX\n"
                "echo 'FAILED tests/test_t.py::a - AssertionError'; exit 1\n");
  std::filesystem::permissions(runner, std::filesystem::perms::owner_all);
  r.options.command = {runner, "-q"};
  r.options.junit_reports = {report};
  CHECK(r.run() == 0);
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[0].category == Category::Flaky);
  CHECK(r.recorder.attempts[0].remedy == Remedy::RerunFailedTests);
  CHECK(r.recorder.attempts[1].command == std::vector<std::string>{runner, "-q", "--lf"});
  CHECK(r.out().find("rerun-only-failed") != std::string::npos);
}

TEST_CASE("exec_command: a genuine pytest failure is not rerun and its tail is kept") {
  ExecRun r("");
  const std::string runner = r.dir.file("pytest");
  writeFile(runner, "#!/bin/sh\necho 'FAILED tests/test_t.py::a - AssertionError'\necho '1 failed in 0.1s'\nexit 1\n");
  std::filesystem::permissions(runner, std::filesystem::perms::owner_all);
  r.options.command = {runner};
  CHECK(r.run() == 1);
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].category == Category::Test);
  CHECK(r.recorder.attempts[0].tail.find("1 failed in 0.1s") != std::string::npos);
}

TEST_CASE("exec_command: a background grandchild holding stdout does not hang the wrapper") {
  ExecRun r("sleep 5 & echo done; exit 0");
  const auto start = std::chrono::steady_clock::now();
  CHECK(r.run() == 0);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(r.out() == "done\n");
}

TEST_CASE("exec_command: an interrupt during the backoff sleep ends the loop at once") {
  std::atomic<int> interrupt{0};
  ExecRun r("echo 'Connection reset by peer'; exit 1");
  r.options.interrupt = &interrupt;
  r.options.retry_delay = 20s;
  std::atomic<bool> observed{false};
  std::thread raise([&] {
    // The first attempt is recorded before the backoff sleep begins.
    observed = hale::test::waitFor([&] { return r.recorder.recorded > 0; }, 60s);
    interrupt = SIGTERM;
  });
  const int rc = r.run();
  raise.join();
  CHECK(observed);
  CHECK(rc == 128 + SIGTERM);
  // Had the sleep run its course, a second attempt would follow it.
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].remedy == Remedy::Retry);
}

TEST_CASE("build_remedies: yarn, pnpm and go corruption signatures name their cache") {
  const std::pair<const char*, const char*> cases[] = {{"cache_yarn.log", "yarn"},     {"cache_yarn_berry.log", "yarn"},
                                                       {"cache_pnpm.log", "pnpm"},     {"cache_pnpm_store.log", "pnpm"},
                                                       {"cache_go.log", "go"},         {"cache_go_build.log", "go"},
                                                       {"cache_go_checksum.log", "go"}};
  for (const auto& c : cases) {
    const std::string file = c.first, cache = c.second;
    CAPTURE(file);
    const Diagnosis d = diagnoseText(readAll(fixture(file)));
    CHECK(d.category == Category::Dependency);
    CHECK(d.remedy == Remedy::ClearCache);
    CHECK(d.cache == cache);
  }
  // npm's own corruption still clears npm's cache, not yarn's.
  CHECK(diagnoseText("npm ERR! code EINTEGRITY\nnpm ERR! sha512-abc integrity checksum failed when using sha512\n")
            .cache == "npm");
}

TEST_CASE("build_remedies: the yarn, pnpm and go caches are cleared, Go's read-only module tree included") {
  TempDir dir;
  const std::string home = dir.file("home");
  for (const char* d : {".cache/yarn/v6/npm-left-pad", ".yarn/berry/cache", ".local/share/pnpm/store/v3/files/00",
                        "go/pkg/mod/github.com/acme/lib@v1.0.0", ".cache/go-build/3c"})
    std::filesystem::create_directories(home + "/" + d);
  writeFile(home + "/go/pkg/mod/github.com/acme/lib@v1.0.0/lib.go", "package lib\n");
  // Go leaves module directories read-only.
  std::filesystem::permissions(home + "/go/pkg/mod/github.com/acme/lib@v1.0.0",
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  std::filesystem::permissions(home + "/go/pkg/mod/github.com/acme",
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  ::unsetenv("GOMODCACHE");
  ::unsetenv("GOCACHE");
  CHECK(clearPackageCache("yarn", home) ==
        std::vector<std::string>{home + "/.cache/yarn", home + "/.yarn/berry/cache"});
  CHECK(clearPackageCache("pnpm", home) == std::vector<std::string>{home + "/.local/share/pnpm/store"});
  CHECK(clearPackageCache("go", home) == std::vector<std::string>{home + "/go/pkg/mod", home + "/.cache/go-build"});
  CHECK_FALSE(std::filesystem::exists(home + "/go/pkg/mod"));
  CHECK(std::filesystem::exists(home + "/.local/share"));

  // CI images keep GOMODCACHE outside $HOME (/go/pkg/mod): honoured when it has Go's layout.
  ::setenv("GOMODCACHE", dir.file("ci/go/pkg/mod").c_str(), 1);
  ::setenv("GOCACHE", dir.file("precious").c_str(), 1);  // not go-build: left alone
  const auto dirs = cacheDirs("go", home);
  CHECK(std::find(dirs.begin(), dirs.end(), dir.file("ci/go/pkg/mod")) != dirs.end());
  CHECK(std::find(dirs.begin(), dirs.end(), dir.file("precious")) == dirs.end());
  ::unsetenv("GOMODCACHE");
  ::unsetenv("GOCACHE");
}

TEST_CASE("exec_command: a corrupt yarn cache is cleared and the step run again") {
  ExecRun r(
      "if [ -e \"$MARK\" ]; then echo 'Done in 1.2s.'; exit 0; fi; touch \"$MARK\"; "
      "echo 'error https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz: Integrity check failed for \"lodash\" "
      "(computed integrity doesn'\\''t match our records, got \"sha512-x\")' >&2; exit 1");
  ::setenv("MARK", r.dir.file("mark").c_str(), 1);
  std::filesystem::create_directories(r.dir.file("home/.cache/yarn/v6"));
  r.options.cache_home = r.dir.file("home");
  CHECK(r.run() == 0);
  ::unsetenv("MARK");
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[0].remedy == Remedy::ClearCache);
  CHECK_FALSE(std::filesystem::exists(r.dir.file("home/.cache/yarn")));
  CHECK(r.err().find("cleared " + r.dir.file("home/.cache/yarn")) != std::string::npos);
}

TEST_CASE("exec_command: output reaches the reader while the step is still running") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  ExecOptions o;
  o.command = {"/bin/sh", "-c", "echo first; sleep 1; echo second"};
  o.stdout_fd = fds[1];
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration first_seen{};
  std::string seen;
  std::thread reader([&] {
    char buffer[256];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
      if (seen.empty()) first_seen = std::chrono::steady_clock::now() - start;
      seen.append(buffer, static_cast<size_t>(n));
    }
  });
  CHECK(runExec(o, &shippedKb(), nullptr) == 0);
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  CHECK(seen == "first\nsecond\n");
  // The first line is forwarded long before the step's second (1 s later).
  CHECK(first_seen < 500ms);
}

TEST_CASE("exec_command: lines printed while the automata are still being built are diagnosed") {
  KnowledgeBase kb;
  kb.load(sourcePath("config/patterns"));
  kb.compileInBackground();
  ExecRun r("echo 'npm ERR! code ECONNRESET'; exit 1");
  r.options.policy = ExecPolicy::Off;
  const int out = ::open(r.dir.file("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  r.options.stdout_fd = out;
  r.options.stderr_fd = out;
  CHECK(runExec(r.options, &kb, &r.recorder) == 1);
  ::close(out);
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].category == Category::Network);
}

TEST_CASE("exec_command: a hung step is retried once with its --timeout doubled") {
  ExecRun r("");
  const std::string marker = r.dir.file("marker");
  // The first run prints, then hangs; the second finishes.
  r.options.command = {
      "/bin/sh", "-c",
      "if [ -f " + marker + " ]; then echo done; exit 0; fi; touch " + marker + "; echo started; sleep 30"};
  // Hung means silent for the last quarter: the shell's start-up may take up to 750 ms.
  r.options.timeout = 1s;
  CHECK(r.run() == 0);
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[0].category == Category::Timeout);
  CHECK(r.recorder.attempts[0].remedy == Remedy::RetryLongerTimeout);
  CHECK(r.recorder.attempts[0].explanation.find("hung") != std::string::npos);
  CHECK(r.err().find("--timeout 1s -> 2s") != std::string::npos);
}

TEST_CASE("exec_command: a step still printing when its limit hits is slow, not hung: no retry") {
  // Prints every 10 ms; it would have to stall for 500 ms to look hung.
  ExecRun r("while true; do echo tick; sleep 0.01; done");
  r.options.timeout = 2s;
  CHECK(r.run() == 124);
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].category == Category::Timeout);
  CHECK(r.recorder.attempts[0].remedy == Remedy::None);
  CHECK(r.recorder.attempts[0].explanation.find("too slow") != std::string::npos);
}

TEST_CASE("exec_command: a hang under coreutils timeout raises its DURATION argument") {
  ExecRun r("");
  const std::string marker = r.dir.file("marker");
  r.options.command = {"timeout", "0.3", "/bin/sh", "-c",
                       "if [ -f " + marker + " ]; then exit 0; fi; touch " + marker + "; sleep 30"};
  CHECK(r.run() == 0);
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[0].exit_code == 124);
  CHECK(r.recorder.attempts[0].remedy == Remedy::RetryLongerTimeout);
  CHECK(r.recorder.attempts[1].command[1] == "1s");  // 0.6 s, rounded up to whole seconds
}

TEST_CASE("exec_command: an out-of-memory kill is retried once with less parallelism") {
  ExecRun r(
      "case \"$MAKEFLAGS\" in *-j2*) echo built; exit 0;; esac; "
      "echo 'c++: fatal error: Killed signal terminated program cc1plus'; exit 1");
  r.options.env = {{"MAKEFLAGS", "-j4"}};
  CHECK(r.run() == 0);
  REQUIRE(r.recorder.attempts.size() == 2);
  CHECK(r.recorder.attempts[0].category == Category::ResourceMemory);
  CHECK(r.recorder.attempts[0].remedy == Remedy::RetryLessParallel);
  CHECK(r.err().find("less parallelism: MAKEFLAGS=-j2") != std::string::npos);
  SUBCASE("only once, and only with a knob") {
    ExecRun again("echo 'c++: fatal error: Killed signal terminated program cc1plus'; exit 1");
    again.options.env = {{"MAKEFLAGS", "-j4"}};
    CHECK(again.run() == 1);
    CHECK(again.recorder.attempts.size() == 2);  // -j4, then -j2, then no further lowering
    ExecRun no_knob("echo 'c++: fatal error: Killed signal terminated program cc1plus'; exit 1");
    CHECK(no_knob.run() == 1);
    CHECK(no_knob.recorder.attempts.size() == 1);
  }
}

TEST_CASE("exec_command: a permission failure is never retried and names what was refused") {
  ExecRun r("echo 'remote: Permission to acme/app.git denied to ci-bot.' >&2; exit 128");
  r.options.max_attempts = 5;
  CHECK(r.run() == 128);
  REQUIRE(r.recorder.attempts.size() == 1);
  CHECK(r.recorder.attempts[0].category == Category::Permission);
  CHECK(r.recorder.attempts[0].remedy == Remedy::None);
  CHECK(r.err().find("refused: repository acme/app") != std::string::npos);
  SUBCASE("whatever an entry says") {
    KnowledgeBase kb;
    kb.loadText(R"([[pattern]]
id = "bad-advice"
category = "permission"
patterns = ['denied to ci-bot']
explanation = "Refused."
remedy = "retry"
)",
                "user.toml");
    kb.compile();
    ExecRun user("echo 'remote: Permission to acme/app.git denied to ci-bot.'; exit 1");
    user.options.max_attempts = 3;
    const int out = ::open(user.dir.file("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    user.options.stdout_fd = user.options.stderr_fd = out;
    CHECK(runExec(user.options, &kb, &user.recorder) == 1);
    ::close(out);
    CHECK(user.recorder.attempts.size() == 1);
  }
}
