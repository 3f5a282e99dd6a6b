// system: load per CPU, CPU utilisation between two runs, memory available,
// swap used, and pressure stall information (/proc/pressure/*) where the
// kernel has it. Files missing from proc_root are skipped, not errors, so the
// same check runs on old kernels and in containers.
//
//   [[check]]
//   name = "system"
//   kind = "system"
//   interval = "10s"
//   load_per_cpu_warn = 2
//   load_per_cpu_crit = 4
//   mem_available_warn_percent = 10
//   mem_available_crit_percent = 5
#include "agent/checks/check.h"
#include "agent/platform/file_read.h"
#include "agent/platform/proc_stats.h"

#include <fmt/format.h>

namespace hale::agent::checks {
namespace {

constexpr config::FieldSpec kFields[] = {
    {"proc_root", config::FieldType::String, "/proc", "where procfs is mounted (tests point it at fixtures)"},
    {"load_per_cpu_warn", config::FieldType::Float, "2", "5-minute load average per CPU that warns"},
    {"load_per_cpu_crit", config::FieldType::Float, "4", "5-minute load average per CPU that is critical"},
    {"cpu_warn_percent", config::FieldType::Float, "95", "CPU busy (%) since the previous run that warns"},
    {"cpu_crit_percent", config::FieldType::Float, "",
     "CPU busy (%) since the previous run that is critical (unset: never; a busy CI runner is doing its job)"},
    {"mem_available_warn_percent", config::FieldType::Float, "10", "memory available (%) at or below which it warns"},
    {"mem_available_crit_percent", config::FieldType::Float, "5",
     "memory available (%) at or below which it is critical"},
    {"swap_used_warn_percent", config::FieldType::Float, "50", "swap used (%) that warns"},
    {"swap_used_crit_percent", config::FieldType::Float, "80", "swap used (%) that is critical"},
    {"psi_cpu_some_warn", config::FieldType::Float, "80", "CPU pressure, some avg10 (%), that warns"},
    {"psi_cpu_some_crit", config::FieldType::Float, "",
     "CPU pressure, some avg10 (%), that is critical (unset: never)"},
    {"psi_memory_full_warn", config::FieldType::Float, "5", "memory pressure, full avg10 (%), that warns"},
    {"psi_memory_full_crit", config::FieldType::Float, "20", "memory pressure, full avg10 (%), that is critical"},
    {"psi_io_full_warn", config::FieldType::Float, "20", "I/O pressure, full avg10 (%), that warns"},
    {"psi_io_full_crit", config::FieldType::Float, "50", "I/O pressure, full avg10 (%), that is critical"},
};

struct Threshold {
  double warn;
  std::optional<double> crit;  ///< unset: this value alone never makes the check critical
};

// Reads a warn/crit pair and checks their order; `lower_is_worse` flips it.
Threshold pair(const config::Fields& f, std::string_view warn, std::string_view crit, bool lower_is_worse = false) {
  Threshold t{f.number(warn), f.optNumber(crit)};
  if (t.warn < 0) f.fail(warn, "must not be negative");
  if (!t.crit) return t;
  if (!lower_is_worse && t.warn > *t.crit) f.fail(warn, fmt::format("must not exceed {} ({})", crit, *t.crit));
  if (lower_is_worse && t.warn < *t.crit) f.fail(warn, fmt::format("must not be below {} ({})", crit, *t.crit));
  return t;
}

class SystemCheck final : public Check {
 public:
  SystemCheck(CommonSettings common, const config::Fields& f)
      : Check(std::move(common)), root_(f.str("proc_root")), load_(pair(f, "load_per_cpu_warn", "load_per_cpu_crit")),
        cpu_(pair(f, "cpu_warn_percent", "cpu_crit_percent")),
        mem_(pair(f, "mem_available_warn_percent", "mem_available_crit_percent", true)),
        swap_(pair(f, "swap_used_warn_percent", "swap_used_crit_percent")),
        psi_cpu_(pair(f, "psi_cpu_some_warn", "psi_cpu_some_crit")),
        psi_mem_(pair(f, "psi_memory_full_warn", "psi_memory_full_crit")),
        psi_io_(pair(f, "psi_io_full_warn", "psi_io_full_crit")) {}

  Outcome run() override {
    Outcome out;
    std::vector<std::string> parts;
    int sources = 0;
    auto judge = [&](CheckStatus s, std::string text) {
      out.status = std::max(out.status, s);
      parts.push_back(std::move(text));
    };
    int cpus = 0;
    if (auto stat = read("stat")) {
      cpus = platform::countCpus(*stat);
      if (auto now = platform::parseCpuTimes(*stat)) {
        ++sources;
        if (prev_cpu_) {
          if (auto busy = platform::cpuBusyPercent(*prev_cpu_, *now)) {
            out.metric("cpu_busy_percent", *busy);
            judge(grade(*busy, cpu_.warn, cpu_.crit), fmt::format("cpu {:.0f}% busy", *busy));
          }
        }
        prev_cpu_ = now;
      }
    }
    if (cpus > 0) out.metric("cpus", cpus);
    if (auto text = read("loadavg")) {
      if (auto load = platform::parseLoadAvg(*text)) {
        ++sources;
        out.metric("load1", load->one).metric("load5", load->five).metric("load15", load->fifteen);
        const double per_cpu = load->five / std::max(cpus, 1);
        out.metric("load5_per_cpu", per_cpu);
        judge(grade(per_cpu, load_.warn, load_.crit),
              fmt::format("load {:.2f} {:.2f} {:.2f} ({:.2f}/cpu)", load->one, load->five, load->fifteen, per_cpu));
      }
    }
    if (auto text = read("meminfo")) {
      if (auto mem = platform::parseMemInfo(*text)) {
        ++sources;
        const double avail = 100.0 * static_cast<double>(mem->available_kb) / static_cast<double>(mem->total_kb);
        out.metric("mem_available_percent", avail).metric("mem_total_mb", static_cast<double>(mem->total_kb) / 1024);
        judge(grade(-avail, -mem_.warn, mem_.crit ? std::optional(-*mem_.crit) : std::nullopt),
              fmt::format("memory {:.1f}% available", avail));
        if (mem->swap_total_kb > 0) {
          const double used = 100.0 * static_cast<double>(mem->swap_total_kb - mem->swap_free_kb) /
                              static_cast<double>(mem->swap_total_kb);
          out.metric("swap_used_percent", used);
          judge(grade(used, swap_.warn, swap_.crit), fmt::format("swap {:.1f}% used", used));
        }
      }
    }
    pressure(out, judge, "cpu", false, psi_cpu_);
    pressure(out, judge, "memory", true, psi_mem_);
    pressure(out, judge, "io", true, psi_io_);
    if (sources == 0)
      return Outcome{CheckStatus::Unknown, fmt::format("nothing readable under {} (stat, loadavg, meminfo)", root_), {}};
    for (size_t i = 0; i < parts.size(); ++i) out.message += (i ? ", " : "") + parts[i];
    return out;
  }

 private:
  std::optional<std::string> read(const std::string& rel) const {
    auto text = platform::readFileCapped(root_ + "/" + rel, 1024 * 1024);
    if (!text) return std::nullopt;
    return std::move(text).value();
  }

  // PSI: "some" for CPU (a full stall of every CPU is not meaningful system-wide),
  // "full" for memory and I/O (every task waiting is the state that hurts).
  template <class Judge>
  void pressure(Outcome& out, Judge& judge, const std::string& res, bool use_full, const Threshold& t) const {
    auto text = read("pressure/" + res);
    if (!text) return;
    auto p = platform::parsePressure(*text);
    if (!p) return;
    out.metric("psi_" + res + "_some_avg10", p->some_avg10);
    if (p->full_avg10) out.metric("psi_" + res + "_full_avg10", *p->full_avg10);
    if (use_full && !p->full_avg10) return;
    const double v = use_full ? *p->full_avg10 : p->some_avg10;
    const CheckStatus s = grade(v, t.warn, t.crit);
    if (s != CheckStatus::Ok) judge(s, fmt::format("{} pressure {} {:.1f}%", res, use_full ? "full" : "some", v));
  }

  std::string root_;
  Threshold load_, cpu_, mem_, swap_, psi_cpu_, psi_mem_, psi_io_;
  std::optional<platform::CpuTimes> prev_cpu_;
};

CheckPtr make(CommonSettings common, const config::Fields& fields, const CheckEnv&) {
  return std::make_unique<SystemCheck>(std::move(common), fields);
}

}  // namespace

extern const CheckKind kSystemCheck;
const CheckKind kSystemCheck{"system", "load, CPU, memory, swap and pressure stall information", kFields,
                             Component::Compute, &make};

}  // namespace hale::agent::checks
