// Fuzz target: a JUnit XML report dropped by a test runner, fed in pieces.
#include "agent/ci/junit_report.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hale::agent::ci::JUnitParser parser;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  const size_t step = size ? 1 + data[0] % 61 : 1;
  for (size_t at = 0; at < xml.size(); at += step) parser.feed(xml.substr(at, step));
  const auto summary = parser.summary();
  (void)summary;
  return 0;
}
