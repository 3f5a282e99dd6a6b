// The time_sync check on a fake kernel clock, and the real adjtimex once.
#include "agent/checks/check.h"
#include "agent/platform/kernel_clock.h"
#include "tests/support/check_harness.h"

#include <doctest/doctest.h>

#include <sys/timex.h>

using namespace hale;
using namespace hale::agent;
using checks::CheckStatus;

namespace hale::agent::checks {
CheckPtr makeTimeSyncCheckForTest(CommonSettings common, const config::Fields& fields,
                                  const platform::KernelClock& kernel);
}

namespace {

class FakeKernelClock final : public platform::KernelClock {
 public:
  Result<platform::KernelClockState> next = platform::KernelClockState{};
  Result<platform::KernelClockState> read() const override { return next; }
};

checks::CheckPtr timeSync(const FakeKernelClock& kernel, const std::string& extra = "") {
  auto parts = test::checkPartsFromToml("[[check]]\nname = \"t\"\nkind = \"time_sync\"\n" + extra);
  return checks::makeTimeSyncCheckForTest(parts.common, parts.fields, kernel);
}

platform::KernelClockState synced(double offset_s, double est_error_s = 0.0001) {
  platform::KernelClockState s;
  s.synchronized = true;
  s.offset_s = offset_s;
  s.est_error_s = est_error_s;
  s.max_error_s = 0.05;
  return s;
}

}  // namespace

TEST_CASE("time_sync_check: offset or estimated error against warn_offset and crit_offset") {
  FakeKernelClock kernel;
  auto check = timeSync(kernel, "warn_offset = \"50ms\"\ncrit_offset = \"500ms\"\n");
  kernel.next = synced(0.002);
  auto out = check->run();
  CHECK(out.status == CheckStatus::Ok);
  CHECK(out.message == "clock synchronised: offset 2.0 ms, estimated error 100 µs, max error 50.0 ms");
  kernel.next = synced(-0.08);
  CHECK(check->run().status == CheckStatus::Warn);  // the sign does not matter
  kernel.next = synced(0.0, 0.7);                   // chrony: offset 0, its estimate in esterror
  CHECK(check->run().status == CheckStatus::Crit);
  kernel.next = synced(1.5);
  out = check->run();
  CHECK(out.status == CheckStatus::Crit);
  REQUIRE(out.metrics.size() == 4);
  CHECK(out.metrics[1].name == "offset_seconds");
  CHECK(out.metrics[1].value == doctest::Approx(1.5));
}

TEST_CASE("time_sync_check: an unsynchronised clock is critical, or a warning without require_sync") {
  FakeKernelClock kernel;
  platform::KernelClockState unsynced;
  unsynced.max_error_s = 16;
  kernel.next = unsynced;
  auto out = timeSync(kernel)->run();
  CHECK(out.status == CheckStatus::Crit);
  CHECK(out.message.find("not synchronised (no NTP daemon steering it)") != std::string::npos);
  CHECK(out.metrics[0].value == 0);
  CHECK(timeSync(kernel, "require_sync = false\n")->run().status == CheckStatus::Warn);
  kernel.next = Error{"adjtimex: Operation not permitted", 1};
  out = timeSync(kernel)->run();
  CHECK(out.status == CheckStatus::Unknown);
  CHECK(out.message == "adjtimex: Operation not permitted");
  auto leap = synced(0.001);
  leap.leap_pending = true;
  kernel.next = leap;
  CHECK(timeSync(kernel)->run().message.find("leap second announced") != std::string::npos);
}

TEST_CASE("time_sync_check: the real adjtimex answers, and agrees with the status bits it returns") {
  auto state = platform::realKernelClock().read();
  REQUIRE_MESSAGE(state, state.error().message);
  CHECK(state->max_error_s >= 0);
  CHECK(state->est_error_s >= 0);
  CHECK(state->synchronized == !(state->status_bits & STA_UNSYNC));
  const auto out = test::checkFromToml("[[check]]\nname = \"clock\"\nkind = \"time_sync\"\n")->run();
  CHECK(out.status != CheckStatus::Unknown);
  CHECK(out.message.rfind("clock ", 0) == 0);
}

TEST_CASE("time_sync_check: rejects bad config") {
  CHECK(test::configErrorOf("[[check]]\nname = \"t\"\nkind = \"time_sync\"\nwarn_offset = \"2s\"\n")
            .find("must not exceed crit_offset (1s)") != std::string::npos);
  CHECK(test::configErrorOf("[[check]]\nname = \"t\"\nkind = \"time_sync\"\nwarn_offset = \"0s\"\n")
            .find("must be positive") != std::string::npos);
}
