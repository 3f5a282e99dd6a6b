// Fuzz target: what journalctl writes into the log check's pipe (JSON lines
// mixed with its complaints), split as the follower splits it, and the kept
// read position the check loads at start.
#include "agent/checks/log_position.h"
#include "agent/platform/file_follower.h"
#include "agent/platform/journal_follower.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  hale::agent::platform::LineSplitter splitter(4096);
  const hale::agent::platform::LineSplitter::LineFn each = [](std::string_view line, bool) {
    (void)hale::agent::platform::parseJournalLine(line);
  };
  splitter.feed(text, each);
  splitter.flush(each);
  if (auto p = hale::agent::checks::parseLogPosition(text)) {
    // What parses must survive a round trip unchanged.
    auto again = hale::agent::checks::parseLogPosition(hale::agent::checks::formatLogPosition(*p));
    if (!again || !(*again == *p)) __builtin_trap();
  }
  return 0;
}
