// libFuzzer target for the certificate parser: any bytes a file or a peer can
// hand the certificate check. Not part of the default build (needs clang):
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     tests/fuzz/cert_inspect_fuzz.cpp agent/checks/cert_inspect.cpp \
//     -lmbedx509 -lmbedcrypto -lfmt -o /tmp/cert_inspect_fuzz
//   /tmp/cert_inspect_fuzz -max_total_time=60
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
