#include "agent/core/scheduler.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"

#include <asio/post.hpp>
#include <fmt/format.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace hale::agent {
namespace {
using SteadyClock = std::chrono::steady_clock;

uint32_t microsSince(SteadyClock::time_point start) {
  return static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start).count());
}

checks::Outcome safeRun(checks::Check& check) {
  try {
    return check.run();
  } catch (const std::exception& e) {
    return checks::Outcome{checks::Status::Unknown, fmt::format("check failed: {}", e.what()), {}};
  }
}

wire::ResultRecord timedOut(const checks::Check& check) {
  return makeRecord(check,
                    checks::Outcome{checks::Status::Unknown,
                                    fmt::format("timed out after {} ms", check.common().timeout.count()), {}},
                    unixMillisNow(), static_cast<uint32_t>(check.common().timeout.count() * 1000));
}
}  // namespace

wire::ResultRecord makeRecord(const checks::Check& check, checks::Outcome outcome, int64_t observed_at_ms,
                              uint32_t duration_us) {
  wire::ResultRecord r;
  r.check = check.name();
  r.kind = check.common().kind;
  r.status = outcome.status;
  r.component = check.common().component;
  r.message = std::move(outcome.message);
  r.metrics = std::move(outcome.metrics);
  r.observed_at_ms = observed_at_ms;
  r.duration_us = duration_us;
  return r;
}

wire::ResultRecord runWithDeadline(checks::Check& check) {
  const auto start = SteadyClock::now();
  if (!check.blocking()) return makeRecord(check, safeRun(check), unixMillisNow(), microsSince(start));
  struct Shared {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<checks::Outcome> outcome;
  };
  auto shared = std::make_shared<Shared>();
  std::thread([shared, &check] {
    auto outcome = safeRun(check);
    std::lock_guard lock(shared->mutex);
    shared->outcome = std::move(outcome);
    shared->done.notify_all();
  }).detach();
  std::unique_lock lock(shared->mutex);
  if (!shared->done.wait_for(lock, check.common().timeout, [&] { return shared->outcome.has_value(); }))
    return timedOut(check);
  return makeRecord(check, std::move(*shared->outcome), unixMillisNow(), microsSince(start));
}

Scheduler::Scheduler(asio::io_context& io, std::vector<checks::CheckPtr>& checks, ResultFn on_result, size_t workers)
    : io_(io), on_result_(std::move(on_result)), pool_(std::make_unique<asio::thread_pool>(workers)) {
  for (auto& c : checks) slots_.push_back(Slot{c.get(), std::make_unique<asio::steady_timer>(io), false, 0});
}

Scheduler::~Scheduler() {
  stop();
  *alive_ = false;
  bool stuck = false;
  for (const auto& s : slots_) stuck = stuck || s.running;
  pool_->stop();
  if (stuck) {
    // A worker is blocked in a syscall (a dead mount); joining would hang
    // shutdown, so the pool is abandoned to the process exit.
    (void)pool_.release();
  } else {
    pool_->join();
  }
}

void Scheduler::start() {
  stopped_ = false;
  for (size_t i = 0; i < slots_.size(); ++i) {
    // Spread the first runs over 100 ms so N checks do not all fire in one tick.
    schedule(i, std::chrono::milliseconds(slots_.size() > 1 ? i * 100 / slots_.size() : 0));
    slots_[i].check->watch(io_, [this, i] { runNow(i); });
  }
}

void Scheduler::stop() {
  stopped_ = true;
  for (auto& s : slots_) s.timer->cancel();
}

// Periodic runs land on a 100 ms grid (timer slack, as systemd's
// AccuracySec): checks due within the same 100 ms then share one wakeup of
// the event loop instead of one each, which is most of an idle agent's CPU.
// Event-driven runs (runNow) and sub-second intervals are not rounded.
namespace {
constexpr std::chrono::milliseconds kTimerSlack{100};

SteadyClock::time_point onGrid(SteadyClock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const auto up = (ms + kTimerSlack - std::chrono::milliseconds(1)) / kTimerSlack * kTimerSlack;
  return SteadyClock::time_point(std::chrono::duration_cast<SteadyClock::duration>(up));
}
}  // namespace

void Scheduler::schedule(size_t index, std::chrono::milliseconds delay) {
  if (stopped_) return;
  auto& timer = *slots_[index].timer;
  if (delay >= std::chrono::seconds(1)) {
    timer.expires_at(onGrid(SteadyClock::now() + delay));
  } else {
    timer.expires_after(delay);
  }
  timer.async_wait([this, index](std::error_code ec) {
    if (ec || stopped_) return;
    execute(index);
  });
}

void Scheduler::runNow(size_t index) {
  if (index >= slots_.size() || stopped_) return;
  if (slots_[index].running) return;  // the run in progress will see the new state
  slots_[index].timer->cancel();
  asio::post(io_, [this, index] { execute(index); });
}

void Scheduler::execute(size_t index) {
  Slot& slot = slots_[index];
  if (slot.running) {
    schedule(index, slot.check->common().interval);
    return;
  }
  const uint64_t generation = ++slot.generation;
  if (!slot.check->blocking()) {
    const auto start = SteadyClock::now();
    auto outcome = safeRun(*slot.check);
    finish(index, generation, makeRecord(*slot.check, std::move(outcome), unixMillisNow(), microsSince(start)));
    return;
  }
  slot.running = true;
  auto deadline = std::make_shared<asio::steady_timer>(io_, slot.check->common().timeout);
  deadline->async_wait([this, index, generation, deadline](std::error_code ec) {
    if (ec) return;
    Slot& s = slots_[index];
    if (s.generation != generation) return;
    ++s.generation;  // the late result, when it comes, is dropped
    log::warn("scheduler", "check timed out", {{"check", s.check->name()}});
    finish(index, s.generation, timedOut(*s.check));
  });
  asio::post(*pool_, [this, check = slot.check, index, generation, deadline, alive = std::weak_ptr<bool>(alive_)] {
    const auto start = SteadyClock::now();
    auto outcome = safeRun(*check);
    const auto micros = microsSince(start);
    auto locked = alive.lock();
    if (!locked || !*locked) return;
    asio::post(io_, [this, index, generation, deadline, outcome = std::move(outcome), micros, alive]() mutable {
      auto still = alive.lock();
      if (!still || !*still) return;
      Slot& s = slots_[index];
      s.running = false;
      deadline->cancel();
      if (s.generation != generation) return;  // reported as timed out already
      finish(index, generation, makeRecord(*s.check, std::move(outcome), unixMillisNow(), micros));
    });
  });
}

void Scheduler::finish(size_t index, uint64_t /*generation*/, const wire::ResultRecord& record) {
  on_result_(record);
  slots_[index].check->afterRun(record);
  schedule(index, slots_[index].check->common().interval);
}

}  // namespace hale::agent
