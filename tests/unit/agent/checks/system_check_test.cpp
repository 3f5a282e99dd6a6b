#include "agent/checks/check.h"
#include "agent/platform/proc_stats.h"
#include "tests/support/check_harness.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

using hale::wire::CheckStatus;
using namespace hale::agent::checks;
namespace platform = hale::agent::platform;

namespace {

std::string fixture(const std::string& name) { return std::string(HALE_SOURCE_DIR) + "/tests/fixtures/proc/" + name; }

std::string systemToml(const std::string& root, const std::string& extra = "") {
  return fmt::format("[[check]]\nname = \"sys\"\nkind = \"system\"\nproc_root = \"{}\"\n{}", root, extra);
}

std::optional<double> metric(const Outcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("system_check: parsers accept the kernel's formats") {
  SUBCASE("loadavg") {
    auto l = platform::parseLoadAvg("0.52 0.58 0.59 1/345 12345\n");
    REQUIRE(l);
    CHECK(l->one == doctest::Approx(0.52));
    CHECK(l->fifteen == doctest::Approx(0.59));
    CHECK(l->runnable == 1);
    CHECK(l->threads == 345);
  }
  SUBCASE("stat: aggregate line, CPU count, busy share") {
    const std::string stat =
        "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0\n";
    auto a = platform::parseCpuTimes(stat);
    REQUIRE(a);
    CHECK(a->total() == 1000);
    CHECK(a->idleAll() == 850);
    CHECK(platform::countCpus(stat) == 2);
    platform::CpuTimes b = *a;
    b.user += 75;
    b.idle += 25;
    CHECK(platform::cpuBusyPercent(*a, b) == doctest::Approx(75.0));
    CHECK_FALSE(platform::cpuBusyPercent(*a, *a));  // no time passed
    CHECK_FALSE(platform::cpuBusyPercent(b, *a));   // counters went backwards
  }
  SUBCASE("meminfo with and without MemAvailable") {
    auto m = platform::parseMemInfo("MemTotal: 1000 kB\nMemAvailable: 250 kB\nSwapTotal: 100 kB\nSwapFree: 40 kB\n");
    REQUIRE(m);
    CHECK(m->available_kb == 250);
    CHECK_FALSE(m->estimated);
    CHECK(m->swap_free_kb == 40);
    auto old = platform::parseMemInfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 150 kB\n");
    REQUIRE(old);
    CHECK(old->available_kb == 300);
    CHECK(old->estimated);
  }
  SUBCASE("pressure with and without a full line") {
    auto p = platform::parsePressure(
        "some avg10=1.50 avg60=1.00 avg300=0.50 total=10\nfull avg10=0.25 avg60=0 avg300=0 total=1\n");
    REQUIRE(p);
    CHECK(p->some_avg10 == doctest::Approx(1.5));
    CHECK(p->full_avg10 == doctest::Approx(0.25));
    auto cpu = platform::parsePressure("some avg10=3.00 avg60=1.00 avg300=0.50 total=10\n");
    REQUIRE(cpu);
    CHECK_FALSE(cpu->full_avg10);
  }
  SUBCASE("garbage gives nullopt, never a crash") {
    for (const char* junk : {"", "\n", "x y z", "1.0 2.0", "1 2 3 4/", "nan nan nan 1/2", "cpu  a b c d",
                             "MemTotal: 0 kB\n", "MemTotal: 10 kB\n", "some avg10=", "full avg10=1"}) {
      CAPTURE(junk);
      CHECK_FALSE(platform::parseLoadAvg(junk));
      CHECK_FALSE(platform::parseCpuTimes(junk));
      CHECK_FALSE(platform::parseMemInfo(junk));
      CHECK_FALSE(platform::parsePressure(junk));
    }
  }
}

TEST_CASE("system_check: a healthy fixture tree is ok") {
  auto check = hale::test::checkFromToml(systemToml(fixture("healthy")));
  CHECK(check->common().component == hale::wire::Component::Compute);
  const auto out = check->run();
  INFO(out.message);
  CHECK(out.status == CheckStatus::Ok);
  CHECK(metric(out, "cpus") == 4);
  CHECK(metric(out, "load5") == doctest::Approx(0.58));
  CHECK(metric(out, "mem_available_percent") == doctest::Approx(50.0));
  CHECK(metric(out, "swap_used_percent") == doctest::Approx(0.0));
  CHECK(metric(out, "psi_cpu_some_avg10") == doctest::Approx(1.2));
  CHECK(metric(out, "psi_io_full_avg10") == doctest::Approx(0.1));
  CHECK_FALSE(metric(out, "cpu_busy_percent"));  // needs two runs
}

TEST_CASE("system_check: a stressed fixture tree is critical and says why") {
  const auto out = hale::test::checkFromToml(systemToml(fixture("stressed")))->run();
  CHECK(out.status == CheckStatus::Crit);
  CHECK(metric(out, "load5_per_cpu") == doctest::Approx(4.375));
  CHECK(metric(out, "mem_available_percent") == doctest::Approx(3.0));
  CHECK(metric(out, "swap_used_percent") == doctest::Approx(90.0).epsilon(0.01));
  CHECK(metric(out, "psi_memory_full_avg10") == doctest::Approx(25.5));
  CHECK(out.message.find("memory 3.0% available") != std::string::npos);
  CHECK(out.message.find("memory pressure full 25.5%") != std::string::npos);
  CHECK(out.message.find("cpu pressure some 95.0%") != std::string::npos);
  CHECK(out.message.find("io pressure") == std::string::npos);  // 12% is below psi_io_full_warn
  SUBCASE("thresholds are configurable") {
    const auto relaxed =
        hale::test::checkFromToml(
            systemToml(fixture("stressed"),
                       "load_per_cpu_warn = 8\nload_per_cpu_crit = 16\nmem_available_warn_percent = 2\n"
                       "mem_available_crit_percent = 1\nswap_used_warn_percent = 95\nswap_used_crit_percent = 99\n"
                       "psi_cpu_some_warn = 99\npsi_cpu_some_crit = 100\npsi_memory_full_warn = 20\n"
                       "psi_memory_full_crit = 30\n"))
            ->run();
    CHECK(relaxed.status == CheckStatus::Warn);  // only memory pressure 25.5 >= 20
  }
}

TEST_CASE("system_check: an old kernel without PSI or MemAvailable") {
  const auto out = hale::test::checkFromToml(systemToml(fixture("old_kernel")))->run();
  CHECK(out.status == CheckStatus::Ok);
  CHECK(metric(out, "mem_available_percent") == doctest::Approx(39.0625));
  CHECK_FALSE(metric(out, "psi_cpu_some_avg10"));
  CHECK_FALSE(metric(out, "swap_used_percent"));  // no swap configured
  CHECK(metric(out, "cpus") == 1);
}

TEST_CASE("system_check: CPU utilisation comes from /proc/stat deltas between runs") {
  hale::test::TempDir dir;
  std::filesystem::copy(fixture("healthy"), dir.path(), std::filesystem::copy_options::recursive);
  auto check = hale::test::checkFromToml(systemToml(dir.path(), "cpu_warn_percent = 90\ncpu_crit_percent = 99\n"));
  CHECK_FALSE(metric(check->run(), "cpu_busy_percent"));
  // +1000 jiffies of which 50 idle (40 idle + 10 iowait): 95% busy.
  std::ofstream(dir.file("stat")) << "cpu  10900 200 3050 80040 510 0 100 0 0 0\ncpu0 1 0 0 0\ncpu1 1 0 0 0\n"
                                     "cpu2 1 0 0 0\ncpu3 1 0 0 0\n";
  const auto out = check->run();
  CHECK(metric(out, "cpu_busy_percent") == doctest::Approx(95.0));
  CHECK(out.status == CheckStatus::Warn);
  CHECK(out.message.find("cpu 95% busy") != std::string::npos);
}

TEST_CASE("system_check: a saturated CPU alone only warns by default") {
  // A CI runner at full CPU is doing its job: no crit default for CPU busy or CPU pressure.
  hale::test::TempDir dir;
  std::filesystem::copy(fixture("healthy"), dir.path(), std::filesystem::copy_options::recursive);
  auto check = hale::test::checkFromToml(systemToml(dir.path()));
  (void)check->run();
  std::ofstream(dir.file("stat")) << "cpu  11000 200 3000 80000 500 0 100 0 0 0\ncpu0 1 0 0 0\n";
  std::ofstream(dir.file("pressure/cpu")) << "some avg10=99.00 avg60=99.00 avg300=99.00 total=1\n";
  const auto out = check->run();
  CHECK(metric(out, "cpu_busy_percent") == doctest::Approx(100.0));
  CHECK(out.status == CheckStatus::Warn);
}

TEST_CASE("system_check: an empty proc_root is unknown") {
  hale::test::TempDir dir;
  const auto out = hale::test::checkFromToml(systemToml(dir.path()))->run();
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message.find("nothing readable") != std::string::npos);
}

TEST_CASE("system_check: the real /proc") {
  auto check = hale::test::checkFromToml("[[check]]\nname = \"sys\"\nkind = \"system\"\n");
  (void)check->run();
  const auto out = check->run();
  INFO(out.message);
  CHECK(out.status != CheckStatus::Unknown);
  CHECK(metric(out, "cpus").value_or(0) >= 1);
  CHECK(metric(out, "load1"));
  const auto mem = metric(out, "mem_available_percent");
  REQUIRE(mem);
  CHECK(*mem > 0);
  CHECK(*mem <= 100);
}

TEST_CASE("system_check: rejects bad config") {
  using hale::test::configErrorOf;
  SUBCASE("warn above crit") {
    const auto err = configErrorOf(systemToml("/proc", "load_per_cpu_warn = 5\nload_per_cpu_crit = 4\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("key 'load_per_cpu_warn' in check 'sys': must not exceed load_per_cpu_crit (4)") !=
          std::string::npos);
  }
  SUBCASE("memory thresholds run the other way") {
    const auto err =
        configErrorOf(systemToml("/proc", "mem_available_warn_percent = 3\nmem_available_crit_percent = 5\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("key 'mem_available_warn_percent'") != std::string::npos);
    CHECK(err.find("must not be below mem_available_crit_percent (5)") != std::string::npos);
  }
  SUBCASE("an unknown key") {
    const auto err = configErrorOf(systemToml("/proc", "load_warn = 3\n"));
    CHECK(err.find("checks.toml:5:") == 0);
    CHECK(err.find("unknown key 'load_warn'") != std::string::npos);
  }
}
