#pragma once
// Real parts for tests: temporary directories, free loopback ports, child
// processes that are always reaped, a Mosquitto broker with certificates made
// for the test, and a minimal HTTP client over a real socket.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace hale::test {

/// The source and build trees (compile definitions).
std::string sourceDir();
std::string binaryDir();

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

void writeFile(const std::string& path, const std::string& content);
std::string readFile(const std::string& path);

/// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t freePort();

/// A child process; killed (SIGTERM, then SIGKILL) and reaped on destruction.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& log_file);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  pid_t pid() const { return pid_; }
  bool running();
  /// Sends `sig` and waits up to `timeout` for the exit; returns the wait status or nullopt.
  std::optional<int> stop(int sig = 15, std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Runs a command to completion; returns its exit code (or -1), output to `log_file`.
int runCommand(const std::vector<std::string>& argv, const std::string& log_file = "/dev/null");

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

bool portAcceptsConnections(uint16_t port);

/// The dev PKI (scripts/dev-pki.sh) for the given nodes (NODE or NODE:REGION), in dir/pki.
std::string makePki(const TempDir& dir, const std::vector<std::string>& nodes);

/// Mosquitto with the shipped config and ACL on a free port.
class Broker {
 public:
  /// `bridge_to`: the port of another Broker to bridge hale/v1/# with (both ways).
  Broker(const TempDir& dir, const std::string& pki, uint16_t port = 0, uint16_t bridge_to = 0);
  uint16_t port() const { return port_; }
  std::string url() const { return "mqtts://localhost:" + std::to_string(port_); }
  void restart();
  void kill();
  void start();

 private:
  const TempDir& dir_;
  std::string pki_;
  uint16_t port_;
  uint16_t bridge_to_ = 0;
  std::optional<Process> process_;
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

/// GET over a real socket; status 0 when the connection failed.
HttpResponse httpGet(uint16_t port, const std::string& target,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));
HttpResponse httpRequest(uint16_t port, const std::string& raw_request,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace hale::test
