// process: whether a process is running, found by pidfile or by name, and its
// memory use.
//
//   [[check]]
//   name = "broker"
//   kind = "process"
//   pidfile = "/run/mosquitto/mosquitto.pid"   # or: match_name = "mosquitto"
//   min_count = 1
#include "agent/checks/check.h"
#include "agent/platform/process_table.h"

#include <fmt/format.h>
#include <unistd.h>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"pidfile", config::FieldType::String, "", "file holding the pid of the process"},
    {"match_name", config::FieldType::String, "", "process name (comm, as in ps -o comm) to look for"},
    {"match_cmdline", config::FieldType::String, "", "substring of the full command line to look for"},
    {"min_count", config::FieldType::Integer, "1", "fewer matching processes than this is critical"},
    {"rss_warn_mb", config::FieldType::Float, "", "resident memory (MiB, all matches) that warns"},
    {"rss_crit_mb", config::FieldType::Float, "", "resident memory (MiB, all matches) that is critical"},
    {"proc_root", config::FieldType::String, "/proc", "where procfs is mounted (tests point it at fixtures)"},
};

class ProcessCheck final : public Check {
 public:
  ProcessCheck(CommonSettings common, const config::Fields& f)
      : Check(std::move(common)),
        table_(f.str("proc_root")),
        pidfile_(f.optStr("pidfile")),
        match_name_(f.optStr("match_name")),
        match_cmdline_(f.optStr("match_cmdline")),
        min_count_(f.integer("min_count")),
        rss_warn_mb_(f.optNumber("rss_warn_mb")),
        rss_crit_mb_(f.optNumber("rss_crit_mb")) {
    const int targets = int(pidfile_.has_value()) + int(match_name_.has_value()) + int(match_cmdline_.has_value());
    if (targets != 1) f.fail("pidfile", "give exactly one of pidfile, match_name, match_cmdline");
    if (min_count_ < 0) f.fail("min_count", "must not be negative");
  }

  Outcome run() override {
    std::vector<platform::ProcessInfo> found;
    std::string target;
    if (pidfile_) {
      target = "pidfile " + *pidfile_;
      auto pid = platform::readPidFile(*pidfile_);
      if (!pid) return Outcome{Status::Crit, fmt::format("{}: missing or holds no pid", *pidfile_), {{"count", 0}}};
      if (auto info = table_.get(*pid); info && info->state != 'Z') found.push_back(*info);
    } else {
      target = match_name_ ? "name " + *match_name_ : "command line ~ " + *match_cmdline_;
      for (auto& p : table_.list()) {
        if (p.state == 'Z' || p.pid == self_) continue;
        const bool hit = match_name_ ? p.comm == *match_name_ : p.cmdline.find(*match_cmdline_) != std::string::npos;
        if (hit) found.push_back(std::move(p));
      }
    }
    uint64_t rss_pages = 0;
    for (const auto& p : found) rss_pages += p.rss_pages;
    const double rss_mb = static_cast<double>(rss_pages) * static_cast<double>(page_size_) / (1024.0 * 1024.0);
    Outcome out;
    out.metric("count", static_cast<double>(found.size())).metric("rss_mb", rss_mb);
    if (!found.empty()) out.metric("pid", found.front().pid);
    if (static_cast<int64_t>(found.size()) < min_count_) {
      out.status = Status::Crit;
      out.message = fmt::format("{}: {} running, expected at least {}", target, found.size(), min_count_);
      return out;
    }
    out.status = grade(rss_mb, rss_warn_mb_, rss_crit_mb_);
    out.message = fmt::format("{}: {} running (pid {}), {:.1f} MiB resident", target, found.size(),
                              found.empty() ? 0 : found.front().pid, rss_mb);
    return out;
  }

 private:
  platform::ProcFsTable table_;
  std::optional<std::string> pidfile_, match_name_, match_cmdline_;
  int64_t min_count_;
  std::optional<double> rss_warn_mb_, rss_crit_mb_;
  int self_ = static_cast<int>(::getpid());
  long page_size_ = ::sysconf(_SC_PAGESIZE);
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv&) {
  return std::make_unique<ProcessCheck>(std::move(common), fields);
}

}  // namespace

extern const CheckKind kProcessCheck;
const CheckKind kProcessCheck{"process", "a process found by pidfile, name or command line", kFields,
                                     Component::Compute, &make};

}  // namespace hale::agent::checks
