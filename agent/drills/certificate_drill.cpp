// certificate: point the check at an expired certificate made for the drill
// (mbedTLS, a fresh P-256 key, valid from 60 to 30 days ago) in a private
// temporary directory. The real certificate, its key and the endpoint are
// never touched; the test certificate is removed when the drill ends.
#include "agent/drills/drill.h"
#include "shared/crypto/crypto.h"

#include <fmt/format.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <stdlib.h>

namespace hale::agent::drills {
namespace {

std::string x509Time(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

/// A self-signed certificate that expired 30 days ago, as PEM.
Result<std::string> expiredCertificate(const std::string& common_name) {
  const std::string key_pem = crypto::Key::generate().privatePem();
  mbedtls_pk_context key;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_x509write_cert crt;
  mbedtls_mpi serial;
  mbedtls_pk_init(&key);
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_x509write_crt_init(&crt);
  mbedtls_mpi_init(&serial);
  std::string out;
  int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0);
  if (rc == 0)
    rc = mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(key_pem.c_str()), key_pem.size() + 1,
                              nullptr, 0);
  const auto now = std::chrono::system_clock::now();
  const std::string subject = "CN=" + common_name + ",O=hale drill";
  if (rc == 0) rc = mbedtls_mpi_lset(&serial, 1);
  if (rc == 0) {
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, &key);
    mbedtls_x509write_crt_set_issuer_key(&crt, &key);
    rc = mbedtls_x509write_crt_set_serial(&crt, &serial);
  }
  if (rc == 0) rc = mbedtls_x509write_crt_set_subject_name(&crt, subject.c_str());
  if (rc == 0) rc = mbedtls_x509write_crt_set_issuer_name(&crt, subject.c_str());
  if (rc == 0)
    rc = mbedtls_x509write_crt_set_validity(&crt, x509Time(now - std::chrono::hours(24 * 60)).c_str(),
                                            x509Time(now - std::chrono::hours(24 * 30)).c_str());
  if (rc == 0) {
    std::string buf(4096, '\0');
    rc = mbedtls_x509write_crt_pem(&crt, reinterpret_cast<unsigned char*>(buf.data()), buf.size(),
                                   mbedtls_ctr_drbg_random, &drbg);
    if (rc == 0) out = buf.c_str();
  }
  mbedtls_mpi_free(&serial);
  mbedtls_x509write_crt_free(&crt);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  mbedtls_pk_free(&key);
  if (rc != 0) return makeError(fmt::format("cannot make the test certificate (mbedTLS -0x{:04x})", -rc));
  return out;
}

class ExpiredCertificate final : public Fault {
 public:
  ExpiredCertificate(std::string dir, checks::CheckPtr check) : dir_(std::move(dir)), check_(std::move(check)) {}
  ~ExpiredCertificate() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  checks::CheckPtr replacement() override { return check_; }
  std::string describe() const override {
    return fmt::format("check pointed at a certificate that expired 30 days ago ({}/expired.pem)", dir_);
  }

 private:
  std::string dir_;
  checks::CheckPtr check_;
};

class CertificateInjector final : public Injector {
 public:
  bool needsHealthyBaseline() const override { return false; }

  Result<FaultPtr> inject(const Target& t, asio::io_context&) override {
    auto pem = expiredCertificate(t.check.name());
    if (!pem) return pem.error();
    char tmpl[] = "/tmp/hale-drill-cert-XXXXXX";
    if (!::mkdtemp(tmpl)) return makeError(std::string("mkdtemp: ") + std::strerror(errno));
    const std::string dir = tmpl;
    const std::string file = dir + "/expired.pem";
    std::ofstream(file, std::ios::binary) << *pem;
    toml::table table = t.table;
    for (const char* key : {"endpoint", "server_name", "ca_file", "key_file", "expect_hostname"}) table.erase(key);
    table.insert_or_assign("file", file);
    try {
      auto check = checks::makeCheck(table, t.file, t.env);
      return FaultPtr(std::make_unique<ExpiredCertificate>(dir, std::move(check)));
    } catch (const std::exception& e) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      return makeError(e.what());
    }
  }
};

InjectorPtr make() { return std::make_unique<CertificateInjector>(); }
}  // namespace

extern const DrillKind kCertificateDrill;
const DrillKind kCertificateDrill{"certificate",
                                  "point the check at an expired test certificate (the real one is untouched)", &make};

}  // namespace hale::agent::drills
