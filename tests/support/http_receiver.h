#pragma once
// A tiny HTTP receiver on 127.0.0.1 for outgoing-webhook tests: one request
// per connection, scripted statuses (200 once the script is used up), and a
// record of what arrived.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hale::test {

class Receiver {
 public:
  struct Got {
    std::string target, body, signature;
  };
  explicit Receiver(std::deque<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::vector<Got> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string raw;
      char buf[4096];
      size_t need = std::string::npos;
      while (raw.size() < need) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
        const auto end = raw.find("\r\n\r\n");
        if (end != std::string::npos && need == std::string::npos) {
          const auto cl = raw.find("Content-Length: ");
          need = end + 4 + (cl == std::string::npos ? 0 : std::stoul(raw.substr(cl + 16)));
        }
      }
      Got g;
      g.target = raw.substr(raw.find(' ') + 1, raw.find(' ', raw.find(' ') + 1) - raw.find(' ') - 1);
      g.body = raw.substr(std::min(raw.size(), raw.find("\r\n\r\n") + 4));
      if (auto s = raw.find("X-Hale-Signature-256: "); s != std::string::npos)
        g.signature = raw.substr(s + 22, raw.find("\r\n", s) - s - 22);
      int status = 200;
      {
        std::lock_guard lock(mu_);
        got_.push_back(g);
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
      }
      const std::string reply =
          fmt::format("HTTP/1.1 {} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::deque<int> statuses_;
  std::vector<Got> got_;
  std::thread thread_;
};

}  // namespace hale::test
