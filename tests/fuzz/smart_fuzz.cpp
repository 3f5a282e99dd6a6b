// Fuzz target: what smartctl --json prints (or whatever a broken smartctl or
// a wrapper prints instead), as the smart check parses it.
#include "agent/checks/smart_json.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto report = hale::agent::checks::parseSmartctlJson(text); report && report->critical_warning)
    (void)hale::agent::checks::describeCriticalWarning(*report->critical_warning);
  return 0;
}
