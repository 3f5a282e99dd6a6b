// Fuzz target: a failure-pattern knowledge base, as `hale-agent patterns
// --import` takes it from another node. Bad input must end in a ConfigError
// (file:line:col), never a crash or another exception; what loads must
// compile into the RE2 set and classify a line.
#include "agent/ci/classifier.h"
#include "agent/ci/knowledge_base.h"
#include "shared/config/config.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    hale::agent::ci::KnowledgeBase kb;
    kb.loadText(text, "imported.toml");
    kb.compile();
    hale::agent::ci::Classifier classifier(kb);
    classifier.feed("npm ERR! code ECONNRESET\nerror: linker failed\n");
    (void)classifier.diagnose();
    (void)hale::agent::ci::exportKnowledgeBase(kb);
  } catch (const hale::config::ConfigError&) {
    // The expected outcome for bad input.
  }
  return 0;
}
