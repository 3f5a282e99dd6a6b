// http_probe: point the probe at a listener on 127.0.0.1 that the drill starts:
// it accepts, reads the request and answers 200 only after `delay` (default
// twice the check's timeout), so the probe sees a target too slow to answer.
// The real URL is never requested; the listener stops when the drill ends.
#include "agent/drills/drill.h"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hale::agent::drills {
namespace {

class SlowListener final : public Fault {
 public:
  SlowListener(int fd, int port, Millis delay) : fd_(fd), port_(port), delay_(delay) {
    if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { serve(); });
  }
  ~SlowListener() override {
    stop_ = true;
    if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
    thread_.join();
    ::close(fd_);
    for (int fd : wake_)
      if (fd >= 0) ::close(fd);
  }
  void adopt(checks::CheckPtr check) { check_ = std::move(check); }
  checks::CheckPtr replacement() override { return check_; }
  std::string describe() const override {
    return fmt::format("probe pointed at a listener on 127.0.0.1:{} that answers after {} ms", port_, delay_.count());
  }

 private:
  struct Conn {
    int fd;
    std::chrono::steady_clock::time_point due;
  };
  void serve() {
    std::vector<Conn> conns;
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      ::poll(fds.data(), fds.size(), 20);
      if (fds[0].revents & POLLIN) {
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c >= 0) conns.push_back({c, std::chrono::steady_clock::now() + delay_});
      }
      const auto now = std::chrono::steady_clock::now();
      for (auto it = conns.begin(); it != conns.end();) {
        char buf[1024];
        while (::read(it->fd, buf, sizeof buf) > 0) {}
        if (now < it->due) {
          ++it;
          continue;
        }
        static constexpr char kReply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nslow\n";
        (void)!::write(it->fd, kReply, sizeof kReply - 1);
        ::close(it->fd);
        it = conns.erase(it);
      }
    }
    for (auto& c : conns) ::close(c.fd);
  }

  int fd_;
  int port_;
  Millis delay_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  checks::CheckPtr check_;
};

class HttpProbeInjector final : public Injector {
 public:
  bool needsHealthyBaseline() const override { return false; }
  Result<FaultPtr> inject(const Target& t, asio::io_context&) override {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return makeError(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      return makeError(std::string("listen: ") + std::strerror(errno));
    }
    const int port = ntohs(addr.sin_port);
    const Millis delay = t.settings.delay.value_or(2 * t.check.common().timeout);
    auto fault = std::make_unique<SlowListener>(fd, port, delay);
    toml::table table = t.table;
    table.insert_or_assign("url", fmt::format("http://127.0.0.1:{}/", port));
    try {
      fault->adopt(checks::makeCheck(table, t.file, t.env));
    } catch (const std::exception& e) {
      return makeError(e.what());
    }
    return FaultPtr(std::move(fault));
  }
};

InjectorPtr make() { return std::make_unique<HttpProbeInjector>(); }
}  // namespace

extern const DrillKind kHttpProbeDrill;
const DrillKind kHttpProbeDrill{"http_probe", "point the probe at a local listener that answers too late", &make};

}  // namespace hale::agent::drills
