// Fuzz target: the certificate parser, fed any bytes a file or a TLS peer can
// hand the certificate check. Built by tests/CMakeLists.txt (see scripts/fuzz.sh).
#include "agent/checks/cert_inspect.h"

#include <cstddef>
#include <cstdint>

using hale::agent::checks::cert::Chain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto chain = Chain::parse(bytes);
  if (chain) {
    // Exercise everything the check does with a parsed chain.
    (void)chain->earliestExpiry();
    (void)chain->latestStart();
    (void)chain->matchesHost("localhost");
    (void)chain->matchesHost("a.example.com");
    (void)chain->verifyTrust(*chain);
    (void)chain->matchesKey(bytes);
  }
  (void)Chain::parse(bytes, /*skip_bad_blocks=*/true);
  (void)Chain::fromDerList({std::vector<uint8_t>(data, data + size)});
  return 0;
}
