#include "agent/core/scheduler.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"

#include <asio/post.hpp>
#include <fmt/format.h>

#include <atomic>
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
    return checks::Outcome{checks::CheckStatus::Unknown, fmt::format("check failed: {}", e.what()), {}};
  }
}

wire::ResultRecord timedOut(const checks::Check& check) {
  return makeRecord(
      check,
      checks::Outcome{
          checks::CheckStatus::Unknown, fmt::format("timed out after {} ms", check.common().timeout.count()), {}},
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

namespace {
constexpr std::chrono::milliseconds kBatchNudge{50};
}  // namespace

struct Scheduler::Batch {
  struct Item {
    size_t index;
    checks::Check* check;
    uint64_t generation;
    std::shared_ptr<asio::steady_timer> deadline;
  };
  struct Done {
    size_t item;
    checks::Outcome outcome;
    uint32_t micros;
  };
  explicit Batch(asio::io_context& io) : nudge(io) {}
  std::vector<Item> items;      // fixed once handed to the pool
  std::atomic<size_t> next{0};  // the first item no worker has taken
  std::mutex mutex;
  std::vector<Done> done;  // run, not yet handed back to the event loop
  asio::steady_timer nudge;
};

Scheduler::Scheduler(asio::io_context& io, std::vector<checks::CheckPtr>& checks, ResultFn on_result, size_t workers)
    : io_(io), on_result_(std::move(on_result)), pool_(std::make_unique<asio::thread_pool>(workers)),
      workers_(workers) {
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
  if (!forming_) {
    forming_ = std::make_shared<Batch>(io_);
    asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
      if (auto still = alive.lock(); still && *still) dispatchBatch();
    });
  }
  forming_->items.push_back({index, slot.check, generation, std::move(deadline)});
}

// Runs after every timer of this tick has had its turn: one task for them all.
void Scheduler::dispatchBatch() {
  auto batch = std::move(forming_);
  forming_.reset();
  if (!batch || batch->items.empty()) return;
  asio::post(*pool_, [this, batch, alive = std::weak_ptr<bool>(alive_)] {
    if (auto still = alive.lock(); still && *still) drain(batch, alive);
  });
  if (batch->items.size() > 1) nudge(batch, 1);
}

// Another worker joins a batch that is still not done after kBatchNudge.
void Scheduler::nudge(const std::shared_ptr<Batch>& batch, size_t workers) {
  if (workers >= workers_) return;
  batch->nudge.expires_after(kBatchNudge);
  batch->nudge.async_wait([this, batch, workers, alive = std::weak_ptr<bool>(alive_)](std::error_code ec) {
    auto still = alive.lock();
    if (ec || !still || !*still || batch->next.load() >= batch->items.size()) return;
    asio::post(*pool_, [this, batch, alive] {
      if (auto again = alive.lock(); again && *again) drain(batch, alive);
    });
    nudge(batch, workers + 1);
  });
}

// On a pool worker: runs the batch's items until none is left, then hands
// back everything run so far (including a stuck colleague's earlier items).
void Scheduler::drain(const std::shared_ptr<Batch>& batch, const std::weak_ptr<bool>& alive) {
  for (size_t i; (i = batch->next.fetch_add(1)) < batch->items.size();) {
    if (auto still = alive.lock(); !still || !*still) return;  // abandoned: the checks may be gone
    const auto start = SteadyClock::now();
    auto outcome = safeRun(*batch->items[i].check);
    const auto micros = microsSince(start);
    std::lock_guard lock(batch->mutex);
    batch->done.push_back({i, std::move(outcome), micros});
  }
  std::vector<Batch::Done> done;
  {
    std::lock_guard lock(batch->mutex);
    done.swap(batch->done);
  }
  auto still = alive.lock();
  if (done.empty() || !still || !*still) return;
  asio::post(io_, [this, batch, done = std::move(done), alive]() mutable {
    auto still = alive.lock();
    if (!still || !*still) return;
    for (auto& d : done) {
      const Batch::Item& item = batch->items[d.item];
      Slot& s = slots_[item.index];
      s.running = false;
      item.deadline->cancel();
      if (s.generation != item.generation) continue;  // reported as timed out already
      finish(item.index, item.generation, makeRecord(*s.check, std::move(d.outcome), unixMillisNow(), d.micros));
    }
    if (batch->next.load() >= batch->items.size()) batch->nudge.cancel();
  });
}

void Scheduler::finish(size_t index, uint64_t /*generation*/, const wire::ResultRecord& record) {
  on_result_(record);
  slots_[index].check->afterRun(record);
  schedule(index, slots_[index].check->common().interval);
}

}  // namespace hale::agent
