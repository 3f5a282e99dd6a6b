#pragma once
// A clock the test moves by hand: limiters, cooldowns and backoff are tested
// over hours of simulated time without sleeping.
#include "shared/util/clock.h"

namespace hale::test {

class FakeClock final : public Clock {
 public:
  SystemTime wallNow() const override { return SystemTime{} + std::chrono::hours(480'000) + (mono_ - MonoTime{}); }
  MonoTime monoNow() const override { return mono_; }
  void advance(std::chrono::milliseconds d) { mono_ += d; }

 private:
  MonoTime mono_ = MonoTime{} + std::chrono::hours(1000);
};

}  // namespace hale::test
