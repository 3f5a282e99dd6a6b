// hale-demo-service: the services `scripts/demo.sh` lets break, so that Hale
// has something real to heal. Not part of the product.
//
//   hale-demo-service --name worker --crash-after 60s
//       does "jobs" and dies of SIGSEGV after 60 s of uptime, every time it is
//       started: the demo's supervised process that crashes every minute.
//   hale-demo-service --name web --listen 127.0.0.1:8090 --control web.conf
//       answers every HTTP GET after a delay the control file sets, so its
//       latency can drift past an SLO and a rollback can bring it back.
//
// The control file is re-read whenever it changes (lines `key = value`):
//   release = v2          shown in the response body
//   status = 200          HTTP status of every answer (503: the service is down)
//   delay_ms = 5          base latency
//   drift_ms_per_s = 20   latency grows by this much per second since the file changed
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kMaxDelayMs = 10'000;  // a probe times out long before; no thread sleeps for ever
constexpr int kMaxConnections = 32;

volatile std::sig_atomic_t stopping = 0;
void onTerm(int) { stopping = 1; }

std::optional<milliseconds> parseDuration(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  const std::string unit = end ? end : "";
  if (end == text.c_str() || value < 0) return std::nullopt;
  if (unit == "ms") return milliseconds(static_cast<long>(value));
  if (unit == "s") return milliseconds(static_cast<long>(value * 1000));
  if (unit == "m") return milliseconds(static_cast<long>(value * 60'000));
  return std::nullopt;
}

struct Control {
  std::string release = "v1";
  int status = 200;
  double delay_ms = 0;
  double drift_ms_per_s = 0;
  std::chrono::system_clock::time_point changed_at = std::chrono::system_clock::now();
};

// The control file as last read; re-read when its inode, size or time changes.
class ControlFile {
 public:
  explicit ControlFile(std::string path) : path_(std::move(path)) {}

  Control current() {
    std::lock_guard lock(mutex_);
    struct stat st {};
    if (path_.empty() || ::stat(path_.c_str(), &st) != 0) return control_;
    if (st.st_ino == ino_ && st.st_size == size_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
        st.st_mtim.tv_nsec == mtime_.tv_nsec)
      return control_;
    ino_ = st.st_ino;
    size_ = st.st_size;
    mtime_ = st.st_mtim;
    control_ = parse(st);
    return control_;
  }

 private:
  Control parse(const struct stat& st) const {
    Control c;
    c.changed_at = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                         std::chrono::nanoseconds(st.st_mtim.tv_nsec));
    std::ifstream in(path_);
    for (std::string line; std::getline(in, line);) {
      const auto eq = line.find('=');
      if (eq == std::string::npos || line[0] == '#') continue;
      auto trim = [](std::string s) {
        s.erase(0, s.find_first_not_of(" \t"));
        s.erase(s.find_last_not_of(" \t\r") + 1);
        return s;
      };
      const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
      if (key == "release") c.release = value;
      if (key == "status") c.status = std::atoi(value.c_str());
      if (key == "delay_ms") c.delay_ms = std::atof(value.c_str());
      if (key == "drift_ms_per_s") c.drift_ms_per_s = std::atof(value.c_str());
    }
    return c;
  }

  std::string path_;
  std::mutex mutex_;
  Control control_;
  ino_t ino_ = 0;
  off_t size_ = -1;
  timespec mtime_{};
};

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

// Reads the request head (the answer does not depend on it), waits, answers, closes.
void serve(int fd, ControlFile& control, const std::string& name, std::atomic<int>& open) {
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string head;
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  const Control c = control.current();
  const double since = std::chrono::duration<double>(std::chrono::system_clock::now() - c.changed_at).count();
  const int delay = static_cast<int>(
      std::clamp(c.delay_ms + c.drift_ms_per_s * std::max(0.0, since), 0.0, static_cast<double>(kMaxDelayMs)));
  std::this_thread::sleep_for(milliseconds(delay));
  std::ostringstream body;
  body << name << " release " << c.release << ": " << (c.status == 200 ? "ok" : "unavailable") << ", answered in "
       << delay << " ms\n";
  std::ostringstream out;
  out << "HTTP/1.1 " << c.status << ' ' << reason(c.status)
      << "\r\nContent-Type: text/plain\r\nContent-Length: " << body.str().size() << "\r\nConnection: close\r\n\r\n"
      << body.str();
  const std::string response = out.str();
  if (::send(fd, response.data(), response.size(), MSG_NOSIGNAL) < 0) std::perror("send");
  ::close(fd);
  --open;
}

int listenOn(const std::string& address) {
  const auto colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(address.substr(colon + 1).c_str())));
  if (colon == std::string::npos || ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    return -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) return -1;
  return fd;
}

[[noreturn]] void crash(const std::string& name, long jobs) {
  std::printf("%s: job %ld: segmentation fault (the demo's scheduled crash)\n", name.c_str(), jobs);
  std::fflush(stdout);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // nothing is left behind in the demo's directory
  std::signal(SIGSEGV, SIG_DFL);
  ::raise(SIGSEGV);
  std::abort();
}

int usage() {
  std::fprintf(stderr,
               "usage: hale-demo-service [--name NAME] [--crash-after DURATION] [--listen IP:PORT [--control FILE]]\n");
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = "demo", listen_at, control_path;
  std::optional<milliseconds> crash_after;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--name") {
      name = v;
    } else if (a == "--listen") {
      listen_at = v;
    } else if (a == "--control") {
      control_path = v;
    } else if (a == "--crash-after") {
      if (!(crash_after = parseDuration(v))) return usage();
    } else {
      return usage();
    }
  }
  std::signal(SIGTERM, onTerm);
  std::signal(SIGINT, onTerm);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto started = Clock::now();
  const int server = listen_at.empty() ? -1 : listenOn(listen_at);
  if (!listen_at.empty() && server < 0) {
    std::fprintf(stderr, "%s: cannot listen on %s: %s\n", name.c_str(), listen_at.c_str(), std::strerror(errno));
    return 1;
  }
  std::printf("%s: started (pid %d)%s%s\n", name.c_str(), static_cast<int>(::getpid()),
              listen_at.empty() ? "" : ", serving http://", listen_at.c_str());
  ControlFile control(control_path);
  std::atomic<int> open{0};
  long jobs = 0;
  timeval tick{0, 100'000};  // accept wakes up for the crash time and SIGTERM
  if (server >= 0) ::setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
  while (!stopping) {
    if (crash_after && Clock::now() - started >= *crash_after) crash(name, jobs);
    if (server < 0) {
      std::this_thread::sleep_for(milliseconds(100));  // a "job"
      ++jobs;
      continue;
    }
    const int fd = ::accept4(server, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (open.load() >= kMaxConnections) {
      ::close(fd);
      continue;
    }
    ++open;
    ++jobs;
    std::thread(serve, fd, std::ref(control), name, std::ref(open)).detach();
  }
  std::printf("%s: stopped\n", name.c_str());
  std::fflush(stdout);
  std::_Exit(0);  // answers still waiting out their delay end with the process, not after main's locals
}
