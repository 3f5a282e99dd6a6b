// Fuzz target: the learned model file (config/patterns/model.tsv, or one a
// user points --patterns at). Bad input must end in a ConfigError
// (file:line:col), never a crash or another exception; what loads must
// write itself out unchanged and predict on tokens of its own text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "agent/ci/failure_model.h"
#include "shared/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hale::agent::ci::FailureModel;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> tokens;
  hale::agent::ci::tokenizeLine(text, tokens);
  try {
    const FailureModel model = FailureModel::parse(text, "model.tsv");
    const std::string written = model.serialize();
    if (FailureModel::parse(written, "again.tsv").serialize() != written) std::abort();  // a lossy round trip
    const auto p = model.predict(tokens);
    if (p.posterior < 0.0 || p.posterior > 1.0 + 1e-9) std::abort();
    (void)model.predict(tokens, {model.classes().front()});
  } catch (const hale::config::ConfigError&) {
    // The expected outcome for bad input.
  }
  return 0;
}
