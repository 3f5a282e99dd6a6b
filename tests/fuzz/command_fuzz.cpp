// Fuzz target: a command as it arrives on an agent's command topic.
#include "shared/crypto/crypto.h"
#include "shared/wire/command.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<hale::crypto::Key> keys = [] {
    std::vector<hale::crypto::Key> v;
    v.push_back(hale::crypto::Key::generate());
    return v;
  }();
  auto result = hale::wire::verifyCommand({data, size}, keys, "n1", "eu", 1'700'000'000'000);
  (void)result;
  return 0;
}
