// log: point the check at a sandbox copy of its log file (the last 1 MiB, in
// a private temporary directory, with its own read position) and append to
// the copy, crit_matches times, a line its patterns match: `[check.drill]
// line`, or the first of a few common error lines that matches. The real log,
// and the real check's kept position, are never touched; the copy goes when
// the drill ends. A unit's journal cannot be written to safely: not drillable.
#include "agent/checks/log_check.h"
#include "agent/drills/drill.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <stdlib.h>

namespace hale::agent::drills {
namespace {

constexpr std::streamoff kCopyBytes = 1 << 20;

// Lines that the shipped knowledge base (OOM, disk full, connection, TLS) or
// the usual inline patterns (ERROR, FATAL, panic, Exception) match.
constexpr const char* kCandidateLines[] = {
    "kernel: Out of memory: Killed process 4242 (hale-drill) total-vm:1048576kB, anon-rss:524288kB",
    "hale-drill: write /var/lib/app/data: No space left on device",
    "hale-drill: ERROR dial tcp 127.0.0.1:5432: connect: connection refused",
    "hale-drill: FATAL x509: certificate has expired or is not yet valid",
    "panic: hale drill: runtime error: invalid memory address or nil pointer dereference",
    "hale-drill: Exception in thread \"main\" java.lang.RuntimeException: drill",
    "hale-drill: CRITICAL error failed",
};

class SandboxLog final : public Fault {
 public:
  explicit SandboxLog(std::string dir) : dir_(std::move(dir)) {}
  ~SandboxLog() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  checks::CheckPtr replacement() override { return check_; }
  std::string describe() const override {
    return fmt::format("appended {} x \"{}\" to a sandbox copy of the log ({}/drill.log)", count_, line_, dir_);
  }
  void setCheck(checks::CheckPtr check) { check_ = std::move(check); }
  void setAppended(std::string line, int64_t count) {
    line_ = std::move(line);
    count_ = count;
  }

 private:
  std::string dir_, line_;
  int64_t count_ = 0;
  checks::CheckPtr check_;
};

int64_t integerOr(const toml::table& t, std::string_view key, int64_t fallback) {
  if (const auto* n = t.get(key))
    if (auto v = n->value<int64_t>()) return *v;
  return fallback;
}

/// The tail of `from` (at most kCopyBytes), so the copy looks like the real log.
void copyTail(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary | std::ios::ate);
  std::ofstream out(to, std::ios::binary);
  if (!in) return;
  const std::streamoff size = in.tellg();
  in.seekg(std::max<std::streamoff>(0, size - kCopyBytes));
  out << in.rdbuf();
}

Result<std::string> chooseLine(const checks::Check& check, const std::string& configured) {
  if (!configured.empty()) {
    if (checks::logCheckMatches(check, configured)) return configured;
    return makeError(
        fmt::format("not drillable: [check.drill] line \"{}\" does not match the check's patterns", configured));
  }
  for (const char* line : kCandidateLines)
    if (checks::logCheckMatches(check, line)) return std::string(line);
  return makeError(
      "not drillable: none of the drill's usual error lines matches the check's patterns; set [check.drill] line");
}

class LogInjector final : public Injector {
 public:
  bool needsHealthyBaseline() const override { return false; }  // the real log may be noisy: the copy starts quiet

  Result<FaultPtr> inject(const Target& t, asio::io_context&) override {
    const auto* path = t.table.get("path");
    if (!path || !path->is_string())
      return makeError("not drillable: the drill writes to a copy of a log file; a unit's journal has none");
    char tmpl[] = "/tmp/hale-drill-log-XXXXXX";
    if (!::mkdtemp(tmpl)) return makeError(std::string("mkdtemp: ") + std::strerror(errno));
    const std::string dir = tmpl, copy = dir + "/drill.log";
    auto fault = std::make_unique<SandboxLog>(dir);  // removes the directory on every path from here
    copyTail(path->as_string()->get(), copy);
    toml::table table = t.table;
    table.insert_or_assign("path", copy);
    table.insert_or_assign("from_start", false);
    const checks::CheckEnv sandbox_env{t.env.clock, dir};  // its own read position, not the real check's
    checks::CheckPtr check;
    try {
      check = checks::makeCheck(table, t.file, sandbox_env);
    } catch (const std::exception& e) {
      return makeError(e.what());
    }
    auto line = chooseLine(*check, t.settings.line);
    if (!line) return line.error();
    (void)check->run();  // opens the copy at its end: what follows is new
    const int64_t count = std::max<int64_t>(1, integerOr(t.table, "crit_matches", 5));
    {
      std::ofstream out(copy, std::ios::binary | std::ios::app);
      for (int64_t i = 0; i < count; ++i) out << *line << '\n';
      if (!out) return makeError(fmt::format("{}: cannot append", copy));
    }
    fault->setAppended(*line, count);
    fault->setCheck(std::move(check));
    return FaultPtr(std::move(fault));
  }
};

InjectorPtr make() { return std::make_unique<LogInjector>(); }
}  // namespace

extern const DrillKind kLogDrill;
const DrillKind kLogDrill{
    "log", "append lines the patterns match to a sandbox copy of the log (the real one is untouched)", &make};

}  // namespace hale::agent::drills
