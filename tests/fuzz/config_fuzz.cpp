// Fuzz target: an agent configuration file. Bad input must end in a
// ConfigError (file:line:col), never a crash or another exception.
#include "agent/core/agent_config.h"
#include "shared/util/log.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (hale::log::configure(hale::log::Level::Error, hale::log::Format::Text), true);
  (void)quiet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto root = hale::config::parseText(text, "fuzz.toml");
    (void)hale::agent::loadAgentConfig(root, "fuzz.toml");
  } catch (const hale::config::ConfigError&) {
    // The expected outcome for bad input.
  }
  // Loading may have changed the log level from the fuzzed [log] table.
  hale::log::configure(hale::log::Level::Error, hale::log::Format::Text);
  return 0;
}
