#include "shared/net/net.h"

#include <fmt/format.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace hale::net {

int remainingMs(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1'000'000'000));
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view endpoint) {
  std::string_view host, port;
  if (!endpoint.empty() && endpoint.front() == '[') {
    const auto close = endpoint.find("]:");
    if (close == std::string_view::npos) return makeError(fmt::format("'{}': expected [address]:port", endpoint));
    host = endpoint.substr(1, close - 1);
    port = endpoint.substr(close + 2);
  } else {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string_view::npos || endpoint.find(':') != colon)
      return makeError(fmt::format("'{}': expected host:port", endpoint));
    host = endpoint.substr(0, colon);
    port = endpoint.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
    return makeError(fmt::format("'{}': expected host:port with a port in 1..65535", endpoint));
  return std::pair{std::string(host), static_cast<uint16_t>(value)};
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

namespace {

// Waits until `fd` is ready for `events`; false when the deadline passed.
Result<bool> waitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remainingMs(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return makeError(fmt::format("poll: {}", std::strerror(errno)), errno);
  }
}

Result<Socket> connectOne(const addrinfo& ai, Deadline deadline) {
  Socket sock(::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
  if (sock.fd() < 0) return makeError(fmt::format("socket: {}", std::strerror(errno)), errno);
  if (::connect(sock.fd(), ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return makeError(std::strerror(errno), errno);
    auto ready = waitFor(sock.fd(), POLLOUT, deadline);
    if (!ready) return ready.error();
    if (!*ready) return makeError("connect timed out", ETIMEDOUT);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return makeError(std::strerror(err), err);
  }
  const int one = 1;
  ::setsockopt(sock.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return sock;
}

}  // namespace

Result<Socket> connectTcp(const std::string& host, uint16_t port, Deadline deadline) {
  // getaddrinfo has no timeout of its own; numeric hosts skip DNS entirely and a
  // slow resolver is bounded by resolv.conf's timeout, which the pool absorbs.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const auto service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0)
    return makeError(fmt::format("resolve {}: {}", host, ::gai_strerror(rc)), rc);
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(list, &::freeaddrinfo);
  std::string last = "no address";
  int last_code = 0;
  for (const addrinfo* ai = list; ai; ai = ai->ai_next) {
    if (remainingMs(deadline) == 0) return makeError(fmt::format("connect {}:{}: timed out", host, port), ETIMEDOUT);
    auto sock = connectOne(*ai, deadline);
    if (sock) return std::move(sock).value();
    last = sock.error().message;
    last_code = sock.error().code;
  }
  return makeError(fmt::format("connect {}:{}: {}", host, port, last), last_code);
}

Result<void> sendAll(const Socket& sock, std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(sock.fd(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return makeError(fmt::format("send: {}", std::strerror(errno)), errno);
    auto ready = waitFor(sock.fd(), POLLOUT, deadline);
    if (!ready) return ready.error();
    if (!*ready) return makeError("send timed out", ETIMEDOUT);
  }
  return {};
}

Result<size_t> recvSome(const Socket& sock, char* buf, size_t cap, Deadline deadline) {
  for (;;) {
    const ssize_t n = ::recv(sock.fd(), buf, cap, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return makeError(fmt::format("recv: {}", std::strerror(errno)), errno);
    auto ready = waitFor(sock.fd(), POLLIN, deadline);
    if (!ready) return ready.error();
    if (!*ready) return makeError("read timed out", ETIMEDOUT);
  }
}

std::string mbedtlsErrorText(int code) {
  char buf[160];
  mbedtls_strerror(code, buf, sizeof buf);
  return fmt::format("{} (-0x{:04x})", buf, static_cast<unsigned>(-code));
}

// ---- TLS --------------------------------------------------------------------

struct TlsTrust::Impl {
  mbedtls_x509_crt ca;
  Impl() { mbedtls_x509_crt_init(&ca); }
  ~Impl() { mbedtls_x509_crt_free(&ca); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

TlsTrust::TlsTrust(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsTrust::~TlsTrust() = default;

Result<std::shared_ptr<const TlsTrust>> TlsTrust::load(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  // A positive result counts certificates that failed to parse; distributions'
  // bundles can hold a few mbedTLS does not support, the rest still count.
  const int rc = mbedtls_x509_crt_parse_file(&impl->ca, path.c_str());
  if (rc < 0 || impl->ca.raw.p == nullptr)
    return makeError(fmt::format("CA bundle {}: {}", path, rc < 0 ? mbedtlsErrorText(rc) : "no usable certificate"),
                     rc);
  return std::shared_ptr<const TlsTrust>(new TlsTrust(std::move(impl)));
}

struct TlsSession::Impl {
  Socket sock;
  Deadline deadline{};  // the deadline of the call in progress, read by the BIO callbacks
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ssl_config conf;
  mbedtls_ssl_context ssl;
  std::shared_ptr<const TlsTrust> trust;  // kept alive while the config points at it

  Impl() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
  }
  ~Impl() {
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // BIO callbacks: the socket is non-blocking and each callback polls up to the
  // current deadline, so the handshake as a whole is bounded.
  static int sendCb(void* ctx, const unsigned char* buf, size_t len) {
    auto* self = static_cast<Impl*>(ctx);
    for (;;) {
      const ssize_t n = ::send(self->sock.fd(), buf, len, MSG_NOSIGNAL);
      if (n >= 0) return static_cast<int>(n);
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return MBEDTLS_ERR_NET_SEND_FAILED;
      auto ready = waitFor(self->sock.fd(), POLLOUT, self->deadline);
      if (!ready) return MBEDTLS_ERR_NET_SEND_FAILED;
      if (!*ready) return MBEDTLS_ERR_SSL_TIMEOUT;
    }
  }
  static int recvCb(void* ctx, unsigned char* buf, size_t len) {
    auto* self = static_cast<Impl*>(ctx);
    for (;;) {
      const ssize_t n = ::recv(self->sock.fd(), buf, len, 0);
      if (n >= 0) return static_cast<int>(n);
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return MBEDTLS_ERR_NET_RECV_FAILED;
      auto ready = waitFor(self->sock.fd(), POLLIN, self->deadline);
      if (!ready) return MBEDTLS_ERR_NET_RECV_FAILED;
      if (!*ready) return MBEDTLS_ERR_SSL_TIMEOUT;
    }
  }
};

TlsSession::TlsSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsSession::~TlsSession() {
  if (impl_ && impl_->sock.fd() >= 0) {
    // Best effort, never waits: the peer may already be gone.
    impl_->deadline = std::chrono::steady_clock::now();
    mbedtls_ssl_close_notify(&impl_->ssl);
  }
}

Result<std::unique_ptr<TlsSession>> TlsSession::connect(const std::string& host, uint16_t port,
                                                        const TlsOptions& options, Deadline deadline) {
  auto sock = connectTcp(host, port, deadline);
  if (!sock) return sock.error();
  auto impl = std::make_unique<Impl>();
  impl->sock = std::move(sock).value();
  impl->deadline = deadline;
  auto fail = [&](std::string_view what, int rc) {
    return makeError(fmt::format("{}:{}: {}: {}", host, port, what, mbedtlsErrorText(rc)), rc);
  };
  static constexpr unsigned char kPers[] = "hale-agent";
  if (int rc = mbedtls_ctr_drbg_seed(&impl->drbg, mbedtls_entropy_func, &impl->entropy, kPers, sizeof kPers - 1))
    return fail("seeding the random generator", rc);
  if (int rc = mbedtls_ssl_config_defaults(&impl->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT))
    return fail("TLS config", rc);
  mbedtls_ssl_conf_rng(&impl->conf, mbedtls_ctr_drbg_random, &impl->drbg);
  if (options.verify_with) {
    impl->trust = options.verify_with;
    // mbedTLS only reads the chain during verification; the cast is for its non-const API.
    mbedtls_ssl_conf_ca_chain(&impl->conf, const_cast<mbedtls_x509_crt*>(&impl->trust->impl_->ca), nullptr);
    mbedtls_ssl_conf_authmode(&impl->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  } else {
    // The certificate check judges the chain itself, so it must see it even
    // when it is expired or untrusted.
    mbedtls_ssl_conf_authmode(&impl->conf, MBEDTLS_SSL_VERIFY_NONE);
  }
  if (int rc = mbedtls_ssl_setup(&impl->ssl, &impl->conf)) return fail("TLS setup", rc);
  const std::string& sni = options.server_name.empty() ? host : options.server_name;
  if (!isIpLiteral(sni))
    if (int rc = mbedtls_ssl_set_hostname(&impl->ssl, sni.c_str())) return fail("server name", rc);
  mbedtls_ssl_set_bio(&impl->ssl, impl.get(), &Impl::sendCb, &Impl::recvCb, nullptr);
  for (;;) {
    const int rc = mbedtls_ssl_handshake(&impl->ssl);
    if (rc == 0) break;
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (rc == MBEDTLS_ERR_SSL_TIMEOUT)
      return makeError(fmt::format("{}:{}: TLS handshake timed out", host, port), ETIMEDOUT);
    if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
      char info[256];
      mbedtls_x509_crt_verify_info(info, sizeof info, "", mbedtls_ssl_get_verify_result(&impl->ssl));
      std::string text(info);
      while (!text.empty() && text.back() == '\n') text.pop_back();
      for (auto& c : text)
        if (c == '\n') c = ';';
      return makeError(fmt::format("{}:{}: certificate not accepted: {}", host, port, text), rc);
    }
    return fail("TLS handshake", rc);
  }
  return std::unique_ptr<TlsSession>(new TlsSession(std::move(impl)));
}

std::vector<std::vector<uint8_t>> TlsSession::peerChainDer() const {
  std::vector<std::vector<uint8_t>> out;
  for (const mbedtls_x509_crt* c = mbedtls_ssl_get_peer_cert(&impl_->ssl); c && c->raw.p; c = c->next)
    out.emplace_back(c->raw.p, c->raw.p + c->raw.len);
  return out;
}

std::string TlsSession::cipherSuite() const { return mbedtls_ssl_get_ciphersuite(&impl_->ssl); }

Result<void> TlsSession::write(std::string_view data, Deadline deadline) {
  impl_->deadline = deadline;
  while (!data.empty()) {
    const int n = mbedtls_ssl_write(&impl_->ssl, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (n == MBEDTLS_ERR_SSL_TIMEOUT) return makeError("TLS write timed out", ETIMEDOUT);
    return makeError(fmt::format("TLS write: {}", mbedtlsErrorText(n)), n);
  }
  return {};
}

Result<size_t> TlsSession::read(char* buf, size_t cap, Deadline deadline) {
  impl_->deadline = deadline;
  for (;;) {
    const int n = mbedtls_ssl_read(&impl_->ssl, reinterpret_cast<unsigned char*>(buf), cap);
    if (n >= 0) return static_cast<size_t>(n);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    // Many servers close without close_notify after `Connection: close`.
    if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_NET_CONN_RESET) return size_t{0};
    if (n == MBEDTLS_ERR_SSL_TIMEOUT) return makeError("TLS read timed out", ETIMEDOUT);
    return makeError(fmt::format("TLS read: {}", mbedtlsErrorText(n)), n);
  }
}

}  // namespace hale::net
