// log: follows a service's log file or its systemd journal and counts the
// lines that match its patterns (inline RE2 and/or knowledge-base files in the
// build-log format) over a sliding window: `warn_matches` / `crit_matches`
// matches within `window` warn / are critical; the last matching lines are the
// evidence in the message.
//
//   [[check]]
//   name = "api-log"
//   kind = "log"
//   path = "/var/log/api/api.log"          # or: unit = "api.service"
//   patterns = ['\bFATAL\b', 'panic: ']
//   patterns_dir = "/etc/hale/patterns"    # OOM, disk full, TLS, connection errors
//   categories = ["resource-memory", "resource-disk", "network"]
//   window = "1m"
//   warn_matches = 1
//   crit_matches = 5
//
// Polls at its interval (no inotify): a log that is written continuously would
// otherwise ask for a run per write, and the thresholds are rates over a
// window anyway. Each run reads at most `max_read_bytes` and carries on at
// the next one, so a huge backlog cannot hold a worker; lines are cut at
// `max_line_bytes`. The read position (file: device, inode, offset; journal:
// cursor) is kept in <state_dir>/log-positions/, so a restart neither re-reads
// nor skips (agent/checks/log_position.h); rotation and truncation are handled
// by agent/platform/file_follower.h, the journal by journal_follower.h.
#include "agent/checks/log_check.h"
#include "agent/checks/log_matcher.h"
#include "agent/checks/log_position.h"
#include "agent/platform/journal_follower.h"
#include "shared/util/log.h"
#include "shared/util/text.h"

#include <fmt/format.h>

#include <deque>
#include <filesystem>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"path", config::FieldType::String, "", "a log file to follow (give path or unit)"},
    {"unit", config::FieldType::String, "", "a systemd unit whose journal to follow (journalctl -u)"},
    {"journal_dir", config::FieldType::String, "", "unit: read the journal files in this directory instead"},
    {"from_start", config::FieldType::Bool, "false",
     "with no saved position, read what is already there (default: only new lines, like tail -F -n0)"},
    {"patterns", config::FieldType::StringArray, "", "RE2 patterns; a line matching any of them counts"},
    {"patterns_file", config::FieldType::String, "", "knowledge-base file in the config/patterns format"},
    {"patterns_dir", config::FieldType::String, "", "directory of knowledge-base files (*.toml)"},
    {"categories", config::FieldType::StringArray, "",
     "knowledge-base categories that count, e.g. resource-memory, network (default: every failure category)"},
    {"window", config::FieldType::Duration, "1m", "matches are counted over this sliding window"},
    {"warn_matches", config::FieldType::Integer, "1", "matches within the window that warn"},
    {"crit_matches", config::FieldType::Integer, "5", "matches within the window that are critical"},
    {"max_line_bytes", config::FieldType::Integer, "65536", "a longer line is cut to this and counted as truncated"},
    {"max_read_bytes", config::FieldType::Integer, "16777216", "bytes read per run at most; the rest at the next"},
    {"evidence_lines", config::FieldType::Integer, "3", "last matching lines quoted in the message (0..20)"},
};

constexpr size_t kEvidenceBytes = 200;  // per quoted line: a message people read, not a log copy

struct RunCounts {
  uint64_t lines = 0, bytes = 0, truncated = 0, backlog = 0, matches = 0;
  std::string problem;  ///< why the source could not be read (status unknown)
  std::string note;     ///< something worth saying that is not a failure
};

/// A file or a unit's journal, read in bounded steps from a kept position.
class LogSource {
 public:
  virtual ~LogSource() = default;
  /// Lines go to `on_line`, or (where the source can) runs of whole lines to `on_block`.
  virtual void poll(size_t max_bytes, const platform::LineSplitter::LineFn& on_line,
                    const platform::LineSplitter::BlockFn& on_block, RunCounts& counts) = 0;
  virtual std::optional<LogPosition> position() const = 0;
  virtual void restore(const LogPosition& saved) = 0;
  virtual std::string describe() const = 0;
};

class FileSource final : public LogSource {
 public:
  FileSource(std::string path, size_t max_line, bool from_start) : follower_(std::move(path), max_line, from_start) {}
  void poll(size_t max_bytes, const platform::LineSplitter::LineFn& on_line,
            const platform::LineSplitter::BlockFn& on_block, RunCounts& c) override {
    auto stats = follower_.poll(max_bytes, on_line, on_block);
    if (!stats) {
      c.problem = stats.error().message;
      return;
    }
    c.lines = stats->lines, c.bytes = stats->bytes, c.truncated = stats->truncated_lines, c.backlog = stats->backlog;
    if (stats->missing) c.problem = "missing (followed once it appears)";
    if (stats->rotations) c.note = "rotated";
    if (stats->truncations) c.note = "truncated";
  }
  std::optional<LogPosition> position() const override {
    auto p = follower_.position();
    if (!p) return std::nullopt;
    return LogPosition{follower_.path(), p, {}};
  }
  void restore(const LogPosition& saved) override {
    if (saved.file && saved.source == follower_.path()) follower_.restore(*saved.file);
  }
  std::string describe() const override { return follower_.path(); }

 private:
  platform::FileFollower follower_;
};

class JournalSource final : public LogSource {
 public:
  explicit JournalSource(platform::JournalOptions options) : unit_(options.unit), options_(std::move(options)) {}
  void poll(size_t max_bytes, const platform::LineSplitter::LineFn& on_line, const platform::LineSplitter::BlockFn&,
            RunCounts& c) override {
    if (!follower_ && !journalPresent()) {
      // journalctl -f would wait silently for files that never come.
      c.problem = options_.directory.empty()
                      ? "no systemd journal on this machine (neither /run/log/journal nor /var/log/journal)"
                      : fmt::format("journal directory {} does not exist", options_.directory);
      return;
    }
    if (!follower_) follower_ = std::make_unique<platform::JournalFollower>(options_);
    auto stats = follower_->poll(max_bytes, on_line);
    if (!stats) {
      c.problem = stats.error().message;
      follower_.reset();
      return;
    }
    options_.cursor = follower_->cursor();
    c.lines = stats->entries, c.bytes = stats->bytes, c.truncated = stats->truncated;
    if (!stats->running) {
      c.problem = stats->diagnostic.empty() ? "journalctl ended" : stats->diagnostic;
      follower_.reset();  // started again, after the last cursor, at the next run
    } else if (!stats->diagnostic.empty()) {
      c.note = "journalctl: " + stats->diagnostic;
    }
  }
  std::optional<LogPosition> position() const override {
    if (options_.cursor.empty()) return std::nullopt;
    return LogPosition{unit_, std::nullopt, options_.cursor};
  }
  void restore(const LogPosition& saved) override {
    if (!saved.file && saved.source == unit_) options_.cursor = saved.cursor;
  }
  std::string describe() const override { return "journal of " + unit_; }

 private:
  bool journalPresent() const {
    std::error_code ec;
    if (!options_.directory.empty()) return std::filesystem::is_directory(options_.directory, ec);
    return std::filesystem::is_directory("/run/log/journal", ec) ||
           std::filesystem::is_directory("/var/log/journal", ec);
  }

  std::string unit_;
  platform::JournalOptions options_;
  std::unique_ptr<platform::JournalFollower> follower_;
};

int64_t boundedInteger(const config::Fields& f, std::string_view key, int64_t lo, int64_t hi) {
  const int64_t v = f.integer(key);
  if (v < lo || v > hi) f.fail(key, fmt::format("expected {}..{}", lo, hi));
  return v;
}

std::unique_ptr<LogSource> makeSource(const config::Fields& f, size_t max_line) {
  if (f.has("path") == f.has("unit")) f.fail(f.has("path") ? "unit" : "path", "give exactly one of path and unit");
  if (f.has("journal_dir") && !f.has("unit")) f.fail("journal_dir", "only with unit");
  if (f.has("path")) {
    if (f.str("path").empty() || f.str("path")[0] != '/') f.fail("path", "must be an absolute path");
    return std::make_unique<FileSource>(f.str("path"), max_line, f.boolean("from_start"));
  }
  platform::JournalOptions o;
  o.unit = f.str("unit");
  if (o.unit.empty() || o.unit[0] == '-') f.fail("unit", "expected a unit name such as \"nginx.service\"");
  o.directory = f.optStr("journal_dir").value_or("");
  o.from_start = f.boolean("from_start");
  o.max_line_bytes = max_line;
  return std::make_unique<JournalSource>(std::move(o));
}

/// A matching line as quoted in a message: cut, valid UTF-8, no control bytes.
std::string quoteLine(std::string_view id, std::string_view line) {
  std::string cut(line.substr(0, kEvidenceBytes));
  for (auto& ch : cut)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  return fmt::format("[{}] {}{}", id, sanitizeUtf8(cut), line.size() > kEvidenceBytes ? "…" : "");
}

class LogCheck final : public Check {
 public:
  LogCheck(CommonSettings common, const config::Fields& f, const CheckEnv& env)
      : Check(std::move(common)), clock_(env.clock), matcher_(f),
        max_line_(static_cast<size_t>(boundedInteger(f, "max_line_bytes", 256, 16 << 20))),
        max_read_(static_cast<size_t>(boundedInteger(f, "max_read_bytes", 4096, int64_t{1} << 34))),
        evidence_max_(static_cast<size_t>(boundedInteger(f, "evidence_lines", 0, 20))), window_(f.duration("window")),
        warn_(boundedInteger(f, "warn_matches", 1, 1'000'000'000)),
        crit_(boundedInteger(f, "crit_matches", 1, 1'000'000'000)), source_(makeSource(f, max_line_)),
        position_file_(env.state_dir.empty() ? "" : logPositionFile(env.state_dir, name())) {
    if (window_.count() <= 0) f.fail("window", "must be positive");
    if (warn_ > crit_) f.fail("warn_matches", fmt::format("must not exceed crit_matches ({})", crit_));
  }

  bool blocking() const override { return true; }  // a log on a slow mount; matching a backlog takes time

  Outcome run() override {
    const MonoTime now = clock_.monoNow();
    if (!restored_) restorePosition();
    RunCounts c;
    source_->poll(
        max_read_, [&](std::string_view line, bool) { onLine(now, line, c); },
        [&](std::string_view lines, size_t) { onLines(now, lines, c); }, c);
    keepPosition();
    runs_.push_back({now, c.matches});
    while (!runs_.empty() && now - runs_.front().at >= window_) runs_.pop_front();
    while (!evidence_.empty() && now - evidence_.front().at >= window_) evidence_.pop_front();
    uint64_t in_window = 0;
    for (const auto& r : runs_) in_window += r.matches;
    Outcome out;
    out.metric("matches_in_window", static_cast<double>(in_window))
        .metric("lines_read", static_cast<double>(c.lines))
        .metric("bytes_read", static_cast<double>(c.bytes))
        .metric("lines_truncated", static_cast<double>(c.truncated))
        .metric("backlog_bytes", static_cast<double>(c.backlog));
    out.status = grade(static_cast<double>(in_window), static_cast<double>(warn_), static_cast<double>(crit_));
    out.message = fmt::format("{}: {} match{} in {}", source_->describe(), in_window, in_window == 1 ? "" : "es",
                              config::formatDuration(window_));
    if (!c.problem.empty()) {
      out.message += "; " + c.problem;
      if (out.status == CheckStatus::Ok) out.status = CheckStatus::Unknown;
    }
    if (!c.note.empty()) out.message += "; " + c.note;
    if (c.backlog) out.message += fmt::format("; {} bytes left for the next run", c.backlog);
    for (size_t i = 0; i < evidence_.size(); ++i) out.message += (i ? " | " : "; last: ") + evidence_[i].text;
    return out;
  }

  const LogMatcher& matcher() const { return matcher_; }

 private:
  struct RunMatches {
    MonoTime at;
    uint64_t matches;
  };
  struct Evidence {
    MonoTime at;
    std::string text;
  };

  void onLine(MonoTime now, std::string_view line, RunCounts& c) {
    const auto id = matcher_.match(line);
    if (!id) return;
    ++c.matches;
    if (evidence_max_ == 0) return;
    evidence_.push_back({now, quoteLine(*id, line)});
    if (evidence_.size() > evidence_max_) evidence_.pop_front();
  }

  // At the first run, not at construction: after a reload the previous
  // instance of this check may still have run once and saved a later position.
  void restorePosition() {
    restored_ = true;
    if (position_file_.empty()) return;
    if (auto saved = loadLogPosition(position_file_)) {
      source_->restore(*saved);
      saved_ = std::move(saved);
    }
  }

  // Many lines at once: one search finds the next line that may match, and
  // the lines before it cost no call each (about a fifth less CPU than a set
  // match per line with a few inline patterns: bench/log_follow_bench.sh).
  void onLines(MonoTime now, std::string_view lines, RunCounts& c) {
    for (size_t pos = 0; pos < lines.size();) {
      const size_t hit = matcher_.findFirst(lines, pos);
      if (hit == std::string_view::npos) return;
      const size_t before = hit == 0 ? std::string_view::npos : lines.rfind('\n', hit - 1);
      const size_t start = before == std::string_view::npos || before < pos ? pos : before + 1;
      const size_t end = lines.find('\n', hit);
      onLine(now, lines.substr(start, end - start), c);
      pos = end + 1;
    }
  }

  void keepPosition() {
    auto position = source_->position();
    if (position_file_.empty() || !position || (saved_ && *saved_ == *position)) return;
    if (auto st = saveLogPosition(position_file_, *position); !st) {
      if (!save_warned_) log::warn("log", "cannot keep the read position", {{"error", st.error().message}});
      save_warned_ = true;
      return;
    }
    saved_ = std::move(position);
  }

  const Clock& clock_;
  LogMatcher matcher_;
  size_t max_line_, max_read_, evidence_max_;
  Millis window_;
  int64_t warn_, crit_;
  std::unique_ptr<LogSource> source_;
  std::string position_file_;
  std::optional<LogPosition> saved_;
  bool restored_ = false, save_warned_ = false;
  std::deque<RunMatches> runs_;
  std::deque<Evidence> evidence_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv& env) {
  return std::make_unique<LogCheck>(std::move(common), fields, env);
}

}  // namespace

bool logCheckMatches(const Check& check, std::string_view line) {
  const auto* log = dynamic_cast<const LogCheck*>(&check);
  return log && log->matcher().match(line).has_value();
}

extern const CheckKind kLogCheck;
const CheckKind kLogCheck{"log", "matches of patterns in a log file or a unit's journal, per window", kFields,
                          Component::Compute, &make};

}  // namespace hale::agent::checks
