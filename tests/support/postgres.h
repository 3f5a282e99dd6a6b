#pragma once
// A real PostgreSQL 15 for tests, from Debian's postgresql-15: a fresh
// cluster made by initdb in a temporary directory, the server started on a
// free loopback port (and a Unix socket in the same directory). initdb and
// postgres refuse to run as root, and CI runs as root, so as root they run
// as the unprivileged user `nobody`. The role `hale` logs in over TCP with a
// password (scram-sha-256) read from passwordFile(), never from the URL.
#include "tests/support/harness.h"

#include <optional>
#include <string>

namespace hale::test {

class Postgres {
 public:
  /// True when Debian's PostgreSQL 15 server binaries are installed.
  static bool available();

  /// initdb + start; throws when either fails (with the server's log).
  Postgres();
  ~Postgres();
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;

  uint16_t port() const { return port_; }
  /// postgresql://hale@127.0.0.1:PORT/DB (no password: see passwordFile()).
  std::string url(const std::string& db = "hale") const;
  /// A file holding the role's password, readable by the test.
  std::string passwordFile() const { return dir_.file("password"); }
  std::string password() const;
  /// Creates a database owned by `hale`.
  void createDatabase(const std::string& name);
  /// Runs one SQL statement with psql as `hale`; returns psql's exit code, output in `out`.
  int psql(const std::string& db, const std::string& sql, std::string* out = nullptr);

  /// Fast shutdown (SIGINT: clients are disconnected, the cluster is consistent).
  void stop();
  void start();
  void restart();
  /// The postmaster's pid (SIGSTOP/SIGCONT/SIGKILL in chaos tests).
  pid_t pid() const { return process_ ? process_->pid() : -1; }

 private:
  std::vector<std::string> asServerUser(std::vector<std::string> argv) const;

  TempDir dir_;
  uint16_t port_;
  std::optional<Process> process_;
};

}  // namespace hale::test
