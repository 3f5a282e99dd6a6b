#include "agent/checks/cert_inspect.h"
#include "agent/checks/check.h"
#include "agent/core/scheduler.h"
#include "agent/platform/file_read.h"
#include "tests/support/check_harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

using namespace hale::agent::checks;
using hale::wire::CheckStatus;
namespace platform = hale::agent::platform;
using hale::test::TempDir;

namespace {

std::string opensslDate(std::chrono::hours from_now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%SZ", &tm);
  return buf;
}

constexpr std::chrono::hours kDay{24};

// Certificates for every validity case, generated once per test run with the
// openssl CLI into a temporary directory (openssl ca takes explicit dates).
struct Certs {
  TempDir dir;

  Certs() {
    hale::test::writeFile(dir.file("ca.cnf"),
                          "[ca]\ndefault_ca = hale_ca\n[hale_ca]\ndir = " + dir.path() +
                              "\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\nserial = $dir/serial\n"
                              "private_key = $dir/ca.key\ncertificate = $dir/ca.pem\ndefault_md = sha256\n"
                              "policy = any\ncopy_extensions = copy\nunique_subject = no\n"
                              "[any]\ncommonName = supplied\n");
    std::filesystem::create_directories(dir.file("newcerts"));
    hale::test::writeFile(dir.file("index.txt"), "");
    hale::test::writeFile(dir.file("serial"), "01\n");
    selfSigned("ca", "/CN=Hale Test CA");
    selfSigned("other-ca", "/CN=Other CA");
    run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("leaf.key")});
    run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("other.key")});
    csr("leaf.csr", "/CN=localhost", "subjectAltName=DNS:localhost,DNS:*.hale.test");
    csr("wronghost.csr", "/CN=elsewhere.example", "subjectAltName=DNS:elsewhere.example");
    sign("leaf.csr", "valid.pem", -kDay, 365 * kDay);
    sign("leaf.csr", "expired.pem", -400 * kDay, -10 * kDay);
    sign("leaf.csr", "soon.pem", -kDay, 3 * kDay);
    sign("leaf.csr", "twenty.pem", -kDay, 20 * kDay);
    sign("leaf.csr", "future.pem", 10 * kDay, 400 * kDay);
    sign("wronghost.csr", "wronghost.pem", -kDay, 365 * kDay);
    run({"openssl", "x509", "-in", path("valid.pem"), "-outform", "DER", "-out", path("valid.der")});
    run({"openssl", "x509", "-in", path("ca.pem"), "-outform", "DER", "-out", path("ca.der")});
    concat({"soon.pem", "ca.pem"}, "bundle.pem");
    concat({"valid.der", "ca.der"}, "bundle.der");
  }

  void run(const std::vector<std::string>& argv) {
    const int rc = hale::test::runCommand(argv, dir.file("openssl.log"));
    REQUIRE_MESSAGE(rc == 0, "command failed: " << fmt::format("{}", fmt::join(argv, " ")) << "\n"
                                                << hale::test::readFile(dir.file("openssl.log")));
  }
  void selfSigned(const std::string& name, const std::string& subject) {
    run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         path(name + ".key"), "-out", path(name + ".pem"), "-subj", subject, "-days", "3650"});
  }
  void csr(const std::string& out, const std::string& subject, const std::string& san) {
    run({"openssl", "req", "-new", "-key", path("leaf.key"), "-subj", subject, "-addext", san, "-out", path(out)});
  }
  void sign(const std::string& csr, const std::string& out, std::chrono::hours start, std::chrono::hours end) {
    run({"openssl", "ca", "-batch", "-notext", "-config", path("ca.cnf"), "-in", path(csr), "-out", path(out),
         "-startdate", opensslDate(start), "-enddate", opensslDate(end)});
  }
  void concat(const std::vector<std::string>& parts, const std::string& out) {
    std::string all;
    for (const auto& p : parts) all += hale::test::readFile(path(p));
    hale::test::writeFile(path(out), all);
  }
  std::string path(const std::string& name) const { return dir.file(name); }
};

const Certs& certs() {
  static const Certs c;
  return c;
}

std::string fileCheck(const std::string& file, const std::string& extra = "") {
  return fmt::format("[[check]]\nname = \"cert\"\nkind = \"certificate\"\nfile = \"{}\"\n{}", file, extra);
}

Outcome runToml(const std::string& text) { return hale::test::checkFromToml(text)->run(); }

double metric(const Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  FAIL("metric " << name << " missing");
  return 0;
}

bool hasMetric(const Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return true;
  return false;
}

std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("certificate_check: a valid local PEM certificate is ok") {
  const auto out = runToml(fileCheck(certs().path("valid.pem"), "expect_hostname = \"localhost\"\n"));
  CHECK(out.status == CheckStatus::Ok);
  CHECK(metric(out, "days_left") == doctest::Approx(365).epsilon(0.01));
  CHECK(metric(out, "chain_length") == 1);
  CHECK(metric(out, "hostname_ok") == 1);
  CHECK(out.message.find("expires in") != std::string::npos);
}

TEST_CASE("certificate_check: expiry thresholds") {
  SUBCASE("expired is critical") {
    const auto out = runToml(fileCheck(certs().path("expired.pem")));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(metric(out, "days_left") < -9);
    CHECK(out.message.find("expired on") != std::string::npos);
  }
  SUBCASE("expiring in 3 days is critical (crit_days 7)") {
    const auto out = runToml(fileCheck(certs().path("soon.pem")));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(metric(out, "days_left") == doctest::Approx(3).epsilon(0.01));
  }
  SUBCASE("expiring in 20 days warns (warn_days 30)") {
    CHECK(runToml(fileCheck(certs().path("twenty.pem"))).status == CheckStatus::Warn);
  }
  SUBCASE("thresholds are configurable") {
    CHECK(runToml(fileCheck(certs().path("twenty.pem"), "warn_days = 10\ncrit_days = 2\n")).status == CheckStatus::Ok);
    CHECK(runToml(fileCheck(certs().path("soon.pem"), "warn_days = 10\ncrit_days = 2\n")).status == CheckStatus::Warn);
  }
}

TEST_CASE("certificate_check: a certificate not yet valid is critical") {
  const auto out = runToml(fileCheck(certs().path("future.pem")));
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("not valid before") != std::string::npos);
}

TEST_CASE("certificate_check: host name mismatch is critical") {
  const auto out = runToml(fileCheck(certs().path("wronghost.pem"), "expect_hostname = \"localhost\"\n"));
  CHECK(out.status == CheckStatus::Crit);
  CHECK(metric(out, "hostname_ok") == 0);
  CHECK(out.message.find("does not cover host name 'localhost'") != std::string::npos);
  SUBCASE("wildcards cover one label") {
    CHECK(runToml(fileCheck(certs().path("valid.pem"), "expect_hostname = \"api.hale.test\"\n")).status == CheckStatus::Ok);
    CHECK(runToml(fileCheck(certs().path("valid.pem"), "expect_hostname = \"a.b.hale.test\"\n")).status ==
          CheckStatus::Crit);
  }
}

TEST_CASE("certificate_check: trust against a configured CA bundle") {
  SUBCASE("signed by the configured CA: trusted") {
    const auto out =
        runToml(fileCheck(certs().path("valid.pem"), fmt::format("ca_file = \"{}\"\n", certs().path("ca.pem"))));
    CHECK(out.status == CheckStatus::Ok);
    CHECK(metric(out, "trusted") == 1);
  }
  SUBCASE("signed by another CA: critical") {
    const auto out =
        runToml(fileCheck(certs().path("valid.pem"), fmt::format("ca_file = \"{}\"\n", certs().path("other-ca.pem"))));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(metric(out, "trusted") == 0);
    CHECK(out.message.find("not trusted by") != std::string::npos);
  }
}

TEST_CASE("certificate_check: certificate and private key must match") {
  SUBCASE("its own key") {
    const auto out =
        runToml(fileCheck(certs().path("valid.pem"), fmt::format("key_file = \"{}\"\n", certs().path("leaf.key"))));
    CHECK(out.status == CheckStatus::Ok);
    CHECK(metric(out, "key_matches") == 1);
  }
  SUBCASE("another key") {
    const auto out =
        runToml(fileCheck(certs().path("valid.pem"), fmt::format("key_file = \"{}\"\n", certs().path("other.key"))));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(metric(out, "key_matches") == 0);
    CHECK(out.message.find("does not match") != std::string::npos);
  }
}

TEST_CASE("certificate_check: DER files and bundles") {
  SUBCASE("a DER certificate") {
    const auto out = runToml(fileCheck(certs().path("valid.der")));
    CHECK(out.status == CheckStatus::Ok);
    CHECK(metric(out, "chain_length") == 1);
  }
  SUBCASE("a PEM bundle: the earliest expiry wins, whatever its position") {
    const auto out = runToml(fileCheck(certs().path("bundle.pem")));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(metric(out, "chain_length") == 2);
    CHECK(metric(out, "days_left") == doctest::Approx(3).epsilon(0.01));
  }
  SUBCASE("concatenated DER certificates") {
    const auto out = runToml(fileCheck(certs().path("bundle.der")));
    CHECK(metric(out, "chain_length") == 2);
    CHECK(out.status == CheckStatus::Ok);
  }
  SUBCASE("a missing file is critical and named") {
    const auto out = runToml(fileCheck(certs().path("nope.pem")));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(out.message.find("nope.pem") != std::string::npos);
  }
}

TEST_CASE("certificate_check: parsing never crashes on garbage") {
  auto der = platform::readFileCapped(certs().path("valid.der"));
  auto pem = platform::readFileCapped(certs().path("bundle.pem"));
  REQUIRE(der);
  REQUIRE(pem);
  for (size_t n = 0; n < der->size(); ++n) CHECK_FALSE(cert::Chain::parse(bytesOf(der->substr(0, n))));
  for (size_t n = 0; n < pem->size(); n += 7) (void)cert::Chain::parse(bytesOf(pem->substr(0, n)));
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::string junk(static_cast<size_t>(rng() % 600), '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (i % 2) junk[0] = 0x30;  // looks like a DER SEQUENCE
    CHECK_FALSE(cert::Chain::parse(bytesOf(junk)));
    std::string flipped = *der;
    flipped[rng() % flipped.size()] ^= static_cast<char>(1 + rng() % 255);
    (void)cert::Chain::parse(bytesOf(flipped));
  }
  CHECK_FALSE(cert::Chain::parse({}));
  auto chain = cert::Chain::parse(bytesOf(*der));
  REQUIRE(chain);
  CHECK_FALSE(chain->matchesKey(bytesOf("-----BEGIN PRIVATE KEY-----\ngarbage\n")));
}

TEST_CASE("certificate_check: remote endpoint over a real TLS handshake") {
  const uint16_t port = hale::test::freePort();
  hale::test::Process server(
      {"openssl", "s_server", "-accept", fmt::format("127.0.0.1:{}", port), "-cert", certs().path("soon.pem"), "-key",
       certs().path("leaf.key"), "-cert_chain", certs().path("ca.pem"), "-www"},
      "/dev/null");
  REQUIRE(hale::test::waitFor([&] { return hale::test::portAcceptsConnections(port); }, std::chrono::seconds(5)));
  const std::string base = fmt::format(
      "[[check]]\nname = \"remote\"\nkind = \"certificate\"\nendpoint = \"127.0.0.1:{}\"\nserver_name = "
      "\"localhost\"\n",
      port);
  SUBCASE("expiry, host name and trust of the served chain") {
    const auto out = runToml(base + fmt::format("ca_file = \"{}\"\n", certs().path("ca.pem")));
    INFO(out.message);
    CHECK(out.status == CheckStatus::Crit);  // the served leaf expires in 3 days
    CHECK(metric(out, "days_left") == doctest::Approx(3).epsilon(0.01));
    CHECK(metric(out, "chain_length") >= 1);
    CHECK(metric(out, "hostname_ok") == 1);
    CHECK(metric(out, "trusted") == 1);
    CHECK(hasMetric(out, "handshake_ms"));
  }
  SUBCASE("the SNI name is the expected host name") {
    const auto out =
        runToml(fmt::format("[[check]]\nname = \"remote\"\nkind = \"certificate\"\nendpoint = "
                            "\"127.0.0.1:{}\"\nserver_name = \"other.example\"\n",
                            port));
    CHECK(out.status == CheckStatus::Crit);
    CHECK(metric(out, "hostname_ok") == 0);
  }
}

TEST_CASE("certificate_check: a handshake that never completes stops at the timeout") {
  // A listening socket that is never accepted: the kernel completes TCP, the
  // ClientHello is queued, and no ServerHello ever comes.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const auto check = hale::test::checkFromToml(fmt::format(
      "[[check]]\nname = \"hang\"\nkind = \"certificate\"\nendpoint = \"127.0.0.1:{}\"\ntimeout = \"400ms\"\n",
      ntohs(addr.sin_port)));
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = check->run();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message.find("timed out") != std::string::npos);
  CHECK(elapsed >= std::chrono::milliseconds(350));
  CHECK(elapsed < std::chrono::milliseconds(1400));
  SUBCASE("under the scheduler's deadline the check's own message wins") {
    const int fd2 = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sin_port = 0;
    REQUIRE(::bind(fd2, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd2, 8) == 0);
    REQUIRE(::getsockname(fd2, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    auto again = hale::test::checkFromToml(fmt::format(
        "[[check]]\nname = \"hang\"\nkind = \"certificate\"\nendpoint = \"127.0.0.1:{}\"\ntimeout = \"400ms\"\n",
        ntohs(addr.sin_port)));
    const auto record = hale::agent::runWithDeadline(*again);
    ::close(fd2);
    CHECK(record.status == CheckStatus::Unknown);
    CHECK(record.message.find("TLS handshake timed out") != std::string::npos);
  }
}

TEST_CASE("certificate_check: rejects bad config") {
  using hale::test::configErrorOf;
  SUBCASE("neither file nor endpoint") {
    const auto err = configErrorOf("[[check]]\nname = \"c\"\nkind = \"certificate\"\n");
    CHECK(err.find("checks.toml:1:") == 0);
    CHECK(err.find("give exactly one of file, endpoint") != std::string::npos);
  }
  SUBCASE("a malformed endpoint names the key and its line") {
    const auto err = configErrorOf("[[check]]\nname = \"c\"\nkind = \"certificate\"\nendpoint = \"example.com\"\n");
    CHECK(err.find("checks.toml:4:") == 0);
    CHECK(err.find("key 'endpoint'") != std::string::npos);
    CHECK(err.find("expected host:port") != std::string::npos);
  }
  SUBCASE("crit_days above warn_days") {
    const auto err = configErrorOf(fileCheck("/x.pem", "warn_days = 5\ncrit_days = 10\n"));
    CHECK(err.find("checks.toml:6:") == 0);
    CHECK(err.find("key 'crit_days' in check 'cert': must not exceed warn_days (5)") != std::string::npos);
  }
  SUBCASE("an unreadable ca_file") {
    const auto err = configErrorOf(fileCheck("/x.pem", "ca_file = \"/nonexistent/ca.pem\"\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("key 'ca_file'") != std::string::npos);
    CHECK(err.find("cannot read file '/nonexistent/ca.pem'") != std::string::npos);
  }
  SUBCASE("key_file with an endpoint") {
    const auto err =
        configErrorOf("[[check]]\nname = \"c\"\nkind = \"certificate\"\nendpoint = \"h:443\"\nkey_file = \"/k.pem\"\n");
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("only applies to a local file") != std::string::npos);
  }
  SUBCASE("a wrong type") {
    const auto err = configErrorOf(fileCheck("/x.pem", "warn_days = \"soon\"\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("key 'warn_days'") != std::string::npos);
  }
}
