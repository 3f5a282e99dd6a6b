#include "tests/support/postgres.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace hale::test {
namespace {
const std::string kBin = "/usr/lib/postgresql/15/bin/";
constexpr const char* kRole = "hale";
constexpr const char* kServerUser = "nobody";

void chownTree(const std::string& path, uid_t uid, gid_t gid) {
  (void)::chown(path.c_str(), uid, gid);
  for (const auto& e : std::filesystem::recursive_directory_iterator(path)) (void)::chown(e.path().c_str(), uid, gid);
}
}  // namespace

bool Postgres::available() {
  return ::access((kBin + "initdb").c_str(), X_OK) == 0 && ::access((kBin + "postgres").c_str(), X_OK) == 0;
}

std::vector<std::string> Postgres::asServerUser(std::vector<std::string> argv) const {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"setpriv", std::string("--reuid=") + kServerUser, "--regid=nogroup",
                                      "--clear-groups", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

Postgres::Postgres() : port_(freePort()) {
  if (!available()) throw std::runtime_error("PostgreSQL 15 is not installed (Debian package postgresql-15)");
  // The server user must reach its files: the directory is not secret in a test.
  ::chmod(dir_.path().c_str(), 0755);
  writeFile(dir_.file("password"), "hale-test-" + std::to_string(port_) + "\n");
  std::filesystem::create_directories(dir_.file("data"));
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam(kServerUser);
    if (!pw) throw std::runtime_error("no user 'nobody' to run PostgreSQL as");
    chownTree(dir_.path(), pw->pw_uid, pw->pw_gid);
  }
  const int rc =
      runCommand(asServerUser({kBin + "initdb", "-D", dir_.file("data"), "-U", kRole, "-E", "UTF8", "--no-sync",
                               "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + dir_.file("password")}),
                 dir_.file("initdb.log"));
  if (rc != 0) throw std::runtime_error("initdb failed: " + readFile(dir_.file("initdb.log")));
  start();
  createDatabase("hale");
}

Postgres::~Postgres() {
  if (process_) process_->stop(SIGINT, std::chrono::seconds(10));
}

std::string Postgres::password() const {
  std::string p = readFile(passwordFile());
  while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
  return p;
}

std::string Postgres::url(const std::string& db) const {
  return "postgresql://" + std::string(kRole) + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void Postgres::start() {
  // Tests need speed, not durability across a power cut.
  process_.emplace(asServerUser({kBin + "postgres", "-D", dir_.file("data"), "-p", std::to_string(port_), "-k",
                                 dir_.path(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                                 "synchronous_commit=off", "-c", "full_page_writes=off"}),
                   dir_.file("postgres.log"));
  const bool up = waitFor(
      [&] {
        return runCommand({kBin + "pg_isready", "-h", "127.0.0.1", "-p", std::to_string(port_), "-q"}) == 0;
      },
      std::chrono::seconds(30));
  if (!up) throw std::runtime_error("postgres did not start: " + readFile(dir_.file("postgres.log")));
}

void Postgres::stop() {
  if (process_) process_->stop(SIGINT, std::chrono::seconds(30));
  process_.reset();
}

void Postgres::restart() {
  stop();
  start();
}

int Postgres::psql(const std::string& db, const std::string& sql, std::string* out) {
  const std::string log = dir_.file("psql.out");
  std::filesystem::remove(log);
  const int rc = runCommand({"/bin/sh", "-c",
                             "PGPASSWORD=\"$(cat '" + passwordFile() + "')\" " + kBin +
                                 "psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + std::to_string(port_) +
                                 " -U " + kRole + " -d " + db + " -c \"$0\"",
                             sql},
                            log);
  if (out) *out = readFile(log);
  return rc;
}

void Postgres::createDatabase(const std::string& name) {
  if (psql("postgres", "CREATE DATABASE \"" + name + "\" OWNER " + kRole) != 0)
    throw std::runtime_error("cannot create database " + name + ": " + readFile(dir_.file("psql.out")));
}

}  // namespace hale::test
