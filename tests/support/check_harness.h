#pragma once
// Shared pieces for check tests: building a check from TOML text, temporary
// directories, free loopback ports and child processes the test owns.
#include "agent/checks/check.h"

#include <string>
#include <sys/types.h>
#include <vector>

namespace hale::test {

/// Builds the first [[check]] of `toml_text` as if read from "checks.toml".
agent::checks::CheckPtr checkFromToml(const std::string& toml_text, const Clock& clock = RealClock::instance());

/// The ConfigError text building the check throws, or "" when it does not throw.
std::string configErrorOf(const std::string& toml_text);

/// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Runs a shell command line in tests only (certificate generation); returns its exit status.
int shell(const std::string& command_line);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int freeLoopbackPort();

/// Waits until 127.0.0.1:port accepts connections; false after `timeout_ms`.
bool waitForPort(int port, int timeout_ms);

/// A child process started from argv (no shell), killed with SIGKILL and reaped on destruction.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv, bool quiet = true);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace hale::test
