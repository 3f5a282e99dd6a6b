#pragma once
// Blocking-with-deadline sockets for checks that run on the worker pool: a TCP
// connect, plain reads and writes, and a TLS client session (mbedTLS 2.28).
// Every call takes an absolute deadline, so a peer that accepts and then says
// nothing costs at most the check's timeout. Nothing here throws.
#include "shared/util/result.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hale::net {

using Deadline = std::chrono::steady_clock::time_point;

/// Milliseconds left until `deadline`, never negative.
int remainingMs(Deadline deadline);

/// An owned, non-blocking socket descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// Splits "host:port" or "[v6]:port"; nullopt-like error when malformed.
Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view endpoint);

/// Whether `host` is an IPv4 or IPv6 address literal (no brackets).
bool isIpLiteral(const std::string& host);

/// Resolves `host` and connects to the first address that answers before
/// `deadline`. The error message says "timed out" when the deadline passed.
Result<Socket> connectTcp(const std::string& host, uint16_t port, Deadline deadline);

/// Writes all of `data`, waiting for the socket as needed.
Result<void> sendAll(const Socket& sock, std::string_view data, Deadline deadline);
/// Reads up to `cap` bytes; 0 means the peer closed.
Result<size_t> recvSome(const Socket& sock, char* buf, size_t cap, Deadline deadline);

/// Trust anchors parsed once and shared by the sessions of one check: parsing
/// the system bundle costs milliseconds, too much to repeat on every probe.
class TlsTrust {
 public:
  static constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";
  /// Parses a PEM bundle; an Error when no certificate in it parses.
  static Result<std::shared_ptr<const TlsTrust>> load(const std::string& path);
  ~TlsTrust();
  TlsTrust(const TlsTrust&) = delete;
  TlsTrust& operator=(const TlsTrust&) = delete;

 private:
  friend class TlsSession;
  struct Impl;
  explicit TlsTrust(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TlsOptions {
  std::string server_name;  ///< SNI and, when verifying, the expected host name; default: the host
                            ///< unless it is an IP address (RFC 6066 forbids IPs in SNI)
  /// When set, the handshake fails unless the chain verifies against it and
  /// covers server_name. When null, the chain is not judged (the certificate
  /// check judges it itself and must see expired or untrusted chains).
  std::shared_ptr<const TlsTrust> verify_with;
};

/// A TLS 1.2 client session over a connected socket.
class TlsSession {
 public:
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// Connects and completes the handshake before `deadline`.
  static Result<std::unique_ptr<TlsSession>> connect(const std::string& host, uint16_t port, const TlsOptions& options,
                                                     Deadline deadline);

  /// DER of every certificate the peer sent, leaf first.
  std::vector<std::vector<uint8_t>> peerChainDer() const;
  std::string cipherSuite() const;

  Result<void> write(std::string_view data, Deadline deadline);
  /// Reads up to `cap` bytes; 0 means the peer closed (cleanly or not).
  Result<size_t> read(char* buf, size_t cap, Deadline deadline);

 private:
  struct Impl;
  explicit TlsSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// mbedTLS error code as text.
std::string mbedtlsErrorText(int code);

}  // namespace hale::net
