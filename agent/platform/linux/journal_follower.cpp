#include "agent/platform/journal_follower.h"

#include "agent/platform/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hale::agent::platform {
namespace {

// A field's value as journalctl writes it: a string, bytes as an array of
// numbers, or (a field given more than once) an array of those. Deeper
// nesting is not journalctl's and is ignored, so hostile input cannot recurse.
void appendField(const nlohmann::json& value, std::string& out, int depth = 0) {
  if (value.is_string()) {
    out += value.get_ref<const std::string&>();
  } else if (value.is_array() && depth < 2) {
    const bool bytes = !value.empty() && value.front().is_number();
    for (const auto& item : value) {
      if (bytes) {
        if (item.is_number_unsigned() && item.get<uint64_t>() < 256) out += static_cast<char>(item.get<uint64_t>());
      } else {
        if (!out.empty()) out += ' ';
        appendField(item, out, depth + 1);
      }
    }
  }
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<JournalEntry> parseJournalLine(std::string_view line) {
  line = trimmed(line);
  if (line.empty() || line.front() != '{') return makeError("not a JSON object");
  const auto doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return makeError("not a JSON object");
  JournalEntry entry;
  if (auto it = doc.find("MESSAGE"); it != doc.end()) appendField(*it, entry.message);
  if (auto it = doc.find("__CURSOR"); it != doc.end() && it->is_string()) entry.cursor = it->get<std::string>();
  if (auto it = doc.find("PRIORITY"); it != doc.end() && it->is_string()) {
    const auto& p = it->get_ref<const std::string&>();
    if (p.size() == 1 && p[0] >= '0' && p[0] <= '7') entry.priority = p[0] - '0';
  }
  return entry;
}

JournalFollower::JournalFollower(JournalOptions options)
    : options_(std::move(options)), splitter_(options_.max_line_bytes) {}

JournalFollower::~JournalFollower() { stop(); }

Status JournalFollower::start(JournalStats& stats) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return makeError(fmt::format("pipe: {}", std::strerror(errno)), errno);
  SpawnOptions spawn;
  spawn.argv = {options_.journalctl,
                "-u",
                options_.unit,
                "-f",
                "-o",
                "json",
                "--all",
                "--no-pager",
                "--output-fields=MESSAGE,PRIORITY"};
  if (!options_.cursor.empty()) {
    spawn.argv.push_back("--after-cursor=" + options_.cursor);
  } else {
    spawn.argv.push_back(options_.from_start ? "--no-tail" : "--lines=0");
  }
  if (!options_.directory.empty()) spawn.argv.push_back("--directory=" + options_.directory);
  spawn.env = {"SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "LC_ALL=C"};
  spawn.output_fd = fds[1];
  spawn.search_path = true;
  auto pid = spawnProcess(spawn);
  ::close(fds[1]);
  if (!pid) {
    ::close(fds[0]);
    return pid.error();
  }
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  pid_ = *pid;
  fd_ = fds[0];
  splitter_.reset();
  ++stats.started;
  return {};
}

void JournalFollower::line(std::string_view text, bool truncated, JournalStats& stats, const EntryFn& on_entry) {
  if (truncated) {
    // Too long to parse: its text (with the message in it) is still matched.
    ++stats.entries;
    ++stats.truncated;
    on_entry(text, true);
    return;
  }
  auto entry = parseJournalLine(text);
  if (!entry) {
    if (!trimmed(text).empty()) stats.diagnostic = std::string(trimmed(text).substr(0, 300));
    return;
  }
  ++stats.entries;
  if (!entry->cursor.empty()) options_.cursor = std::move(entry->cursor);
  on_entry(entry->message, false);
}

void JournalFollower::reap(JournalStats& stats, bool wait) {
  if (pid_ < 0) return;
  int status = 0;
  pid_t got;
  while ((got = ::waitpid(pid_, &status, wait ? 0 : WNOHANG)) < 0 && errno == EINTR) {}
  if (got == 0) return;  // still running
  std::string how = WIFEXITED(status)     ? fmt::format("exited with status {}", WEXITSTATUS(status))
                    : WIFSIGNALED(status) ? fmt::format("was killed by signal {}", WTERMSIG(status))
                                          : "ended";
  stats.diagnostic = stats.diagnostic.empty() ? "journalctl " + how : stats.diagnostic + " (journalctl " + how + ")";
  pid_ = -1;
}

Result<JournalStats> JournalFollower::poll(size_t max_bytes, const EntryFn& on_entry) {
  JournalStats stats;
  if (fd_ < 0) {
    if (auto st = start(stats); !st) return st.error();
  }
  const LineSplitter::LineFn each = [&](std::string_view text, bool truncated) {
    line(text, truncated, stats, on_entry);
  };
  std::string buf(64 * 1024, '\0');
  bool eof = false;
  while (stats.bytes < max_bytes) {
    const ssize_t n = ::read(fd_, buf.data(), std::min<size_t>(buf.size(), max_bytes - stats.bytes));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      eof = true;  // journalctl closed its output: it ended
      break;
    }
    stats.bytes += static_cast<uint64_t>(n);
    splitter_.feed(std::string_view(buf.data(), static_cast<size_t>(n)), each);
  }
  if (eof) {
    splitter_.flush(each);
    ::close(fd_);
    fd_ = -1;
    reap(stats, /*wait=*/true);
  }
  stats.running = fd_ >= 0;
  return stats;
}

void JournalFollower::stop() {
  // journalctl keeps no state worth a graceful exit: the cursor is ours.
  if (pid_ > 0) ::kill(-pid_, SIGKILL);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  JournalStats ignored;
  reap(ignored, /*wait=*/true);
}

}  // namespace hale::agent::platform
