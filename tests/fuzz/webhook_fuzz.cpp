// Fuzz target: CI webhook payloads (GitHub, GitLab, Jenkins) and the time
// and signature parsers they use; the first byte picks the parser.
#include "aggregator/webhooks/ci_webhooks.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hale::aggregator::webhooks;
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0:
      (void)parseGithub("workflow_run", body);
      break;
    case 1:
      (void)parseGithub("check_run", body);
      break;
    case 2:
      (void)parseGitlab("Pipeline Hook", body);
      break;
    case 3:
      (void)parseJenkins(body);
      break;
    case 4:
      (void)parseTimeMs(body);
      break;
    default:
      (void)githubSignatureValid("fuzz-secret", body, body.substr(0, body.size() / 2));
      break;
  }
  return 0;
}
