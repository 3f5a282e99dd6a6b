// Fuzz target: what journalctl writes into the log check's pipe (JSON lines
// mixed with its complaints), split as the follower splits it, and the kept
// read position the check loads at start.
// (The splitter also serves the file follower, which hands out blocks of lines.)
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
  // The file follower's path: runs of whole lines as blocks, the rest a line at a time.
  hale::agent::platform::LineSplitter blocks(64);
  size_t lines = 0;
  const hale::agent::platform::LineSplitter::BlockFn block = [&](std::string_view run, size_t count) {
    if (run.empty() || run.back() != '\n') __builtin_trap();
    lines += count;
  };
  for (size_t at = 0; at < text.size(); at += 97) blocks.feed(text.substr(at, 97), each, block);
  if (auto p = hale::agent::checks::parseLogPosition(text)) {
    // What parses must survive a round trip unchanged.
    auto again = hale::agent::checks::parseLogPosition(hale::agent::checks::formatLogPosition(*p));
    if (!again || !(*again == *p)) __builtin_trap();
  }
  return 0;
}
