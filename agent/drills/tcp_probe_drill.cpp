// tcp_probe: point the probe at a closed port on 127.0.0.1 (bound once to get
// a free number, then closed): every connect is refused. The real endpoint is
// never touched.
#include "agent/drills/drill.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hale::agent::drills {
namespace {

Result<int> closedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return makeError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) return makeError(std::string("bind: ") + std::strerror(errno));
  return static_cast<int>(ntohs(addr.sin_port));
}

class Unreachable final : public Fault {
 public:
  Unreachable(int port, checks::CheckPtr check) : port_(port), check_(std::move(check)) {}
  checks::CheckPtr replacement() override { return check_; }
  std::string describe() const override { return fmt::format("probe pointed at closed port 127.0.0.1:{}", port_); }

 private:
  int port_;
  checks::CheckPtr check_;
};

class TcpProbeInjector final : public Injector {
 public:
  bool needsHealthyBaseline() const override { return false; }
  Result<FaultPtr> inject(const Target& t, asio::io_context&) override {
    auto port = closedPort();
    if (!port) return port.error();
    toml::table table = t.table;
    table.insert_or_assign("endpoint", fmt::format("127.0.0.1:{}", *port));
    try {
      return FaultPtr(std::make_unique<Unreachable>(*port, checks::makeCheck(table, t.file, t.env)));
    } catch (const std::exception& e) {
      return makeError(e.what());
    }
  }
};

InjectorPtr make() { return std::make_unique<TcpProbeInjector>(); }
}  // namespace

extern const DrillKind kTcpProbeDrill;
const DrillKind kTcpProbeDrill{"tcp_probe", "point the probe at a closed local port", &make};

}  // namespace hale::agent::drills
