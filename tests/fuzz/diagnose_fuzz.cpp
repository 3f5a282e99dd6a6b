// Fuzz target: a CI log as `hale-agent diagnose` and `exec` read it, through
// the shipped knowledge base and learned model: any bytes, split into chunks
// at arbitrary points.
#include "agent/ci/classifier.h"
#include "agent/ci/knowledge_base.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const hale::agent::ci::KnowledgeBase kb =
      hale::agent::ci::loadKnowledgeBase({HALE_SOURCE_DIR "/config/patterns"});
  hale::agent::ci::Classifier classifier(kb);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first byte decides where chunks split, so partial lines are exercised.
  const size_t step = size ? 1 + data[0] % 97 : 1;
  for (size_t at = 0; at < text.size(); at += step) classifier.feed(text.substr(at, step), static_cast<int>(at % 2));
  if (size > 1 && (data[1] & 1)) classifier.markStepFailed();  // exec's path: unknown, the model's window
  const auto diagnosis = classifier.diagnose();
  (void)diagnosis;
  return 0;
}
