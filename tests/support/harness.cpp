#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hale::test {

std::string sourceDir() { return HALE_SOURCE_DIR; }
std::string binaryDir() { return HALE_BINARY_DIR; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hale-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("HALE_KEEP_TEST_DIRS")) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void writeFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to port 0 failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

Process::Process(std::vector<std::string> argv, const std::string& log_file) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // The test framework's crash handlers must not run in the child.
    for (int sig : {SIGTERM, SIGINT, SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGPIPE}) ::signal(sig, SIG_DFL);
    ::setpgid(0, 0);
    const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (!status_ && pid_ > 0) {
    if (!stop(SIGTERM, std::chrono::seconds(3))) stop(SIGKILL, std::chrono::seconds(3));
  }
}

bool Process::running() {
  if (status_) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

std::optional<int> Process::stop(int sig, std::chrono::milliseconds timeout) {
  if (status_) return status_;
  ::kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      return status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

int runCommand(const std::vector<std::string>& argv, const std::string& log_file) {
  Process p(argv, log_file);
  for (int i = 0; i < 6000; ++i) {
    if (!p.running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto st = p.stop(0, std::chrono::milliseconds(1));
  if (!st) return -1;
  return WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

namespace {
int connectLoopback(uint16_t port, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

bool portAcceptsConnections(uint16_t port) {
  const int fd = connectLoopback(port, std::chrono::milliseconds(200));
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::string makePki(const TempDir& dir, const std::vector<std::string>& nodes) {
  const std::string pki = dir.file("pki");
  std::vector<std::string> argv = {sourceDir() + "/scripts/dev-pki.sh", pki};
  argv.insert(argv.end(), nodes.begin(), nodes.end());
  if (runCommand(argv, dir.file("pki.log")) != 0)
    throw std::runtime_error("dev-pki.sh failed: " + readFile(dir.file("pki.log")));
  return pki;
}

Broker::Broker(const TempDir& dir, const std::string& pki, uint16_t port, uint16_t bridge_to)
    : dir_(dir), pki_(pki), port_(port ? port : freePort()), bridge_to_(bridge_to) {
  start();
}

void Broker::start() {
  const std::string conf = dir_.file("mosquitto.conf");
  const std::string cmd = sourceDir() + "/scripts/broker-config.sh " + std::to_string(port_) + " " + pki_ + " " +
                          dir_.file("broker-data") +
                          (bridge_to_ ? " 127.0.0.1:" + std::to_string(bridge_to_) : std::string()) + " > " + conf;
  if (runCommand({"/bin/sh", "-c", cmd}) != 0) throw std::runtime_error("broker-config.sh failed");
  process_.emplace(std::vector<std::string>{"mosquitto", "-c", conf}, dir_.file("mosquitto.log"));
  if (!waitFor([&] { return portAcceptsConnections(port_); }, std::chrono::seconds(10)))
    throw std::runtime_error("mosquitto did not start: " + readFile(dir_.file("mosquitto.log")));
}

void Broker::kill() {
  if (process_) process_->stop(SIGKILL);
  process_.reset();
}

void Broker::restart() {
  kill();
  start();
}

HttpResponse httpRequest(uint16_t port, const std::string& raw, std::chrono::milliseconds timeout) {
  HttpResponse out;
  const int fd = connectLoopback(port, timeout);
  if (fd < 0) return out;
  size_t sent = 0;
  while (sent < raw.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) break;
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[8192];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return out;
  out.status = std::atoi(response.substr(9, 3).c_str());
  if (auto body = response.find("\r\n\r\n"); body != std::string::npos) out.body = response.substr(body + 4);
  return out;
}

HttpResponse httpGet(uint16_t port, const std::string& target, std::chrono::milliseconds timeout) {
  return httpRequest(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout);
}

}  // namespace hale::test
