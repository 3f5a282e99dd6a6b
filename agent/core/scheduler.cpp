#include "agent/core/scheduler.h"

#include "shared/util/clock.h"
#include "shared/util/log.h"

#include <asio/post.hpp>
#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace hale::agent {
namespace {
using SteadyClock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kBatchNudge{50};

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

// Periodic runs land on a 100 ms grid (timer slack, as systemd's
// AccuracySec): checks due within the same 100 ms then share one wakeup of
// the event loop instead of one each, which is most of an idle agent's CPU.
// Event-driven runs (runNow) and sub-second intervals are not rounded.
constexpr std::chrono::milliseconds kTimerSlack{100};

SteadyClock::time_point onGrid(SteadyClock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const auto up = (ms + kTimerSlack - std::chrono::milliseconds(1)) / kTimerSlack * kTimerSlack;
  return SteadyClock::time_point(std::chrono::duration_cast<SteadyClock::duration>(up));
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

wire::ResultRecord runWithDeadline(const checks::CheckPtr& check) {
  const auto start = SteadyClock::now();
  if (!check->blocking()) return makeRecord(*check, safeRun(*check), unixMillisNow(), microsSince(start));
  struct Shared {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<checks::Outcome> outcome;
  };
  auto shared = std::make_shared<Shared>();
  std::thread([shared, check] {
    auto outcome = safeRun(*check);
    std::lock_guard lock(shared->mutex);
    shared->outcome = std::move(outcome);
    shared->done.notify_all();
  }).detach();
  std::unique_lock lock(shared->mutex);
  if (!shared->done.wait_for(lock, check->common().timeout, [&] { return shared->outcome.has_value(); }))
    return timedOut(*check);
  return makeRecord(*check, std::move(*shared->outcome), unixMillisNow(), microsSince(start));
}

struct Scheduler::Done {
  size_t item;
  checks::Outcome outcome;
  uint32_t micros;
};

// Shared by the loop and the workers; holds no Asio object, so it may go on either side.
struct Scheduler::Batch {
  struct Item {
    size_t index;
    checks::CheckPtr check;  ///< alive for as long as a worker may run it
    uint64_t generation;
  };
  std::vector<Item> items;      // fixed once handed to the pool
  std::atomic<size_t> next{0};  // the first item no worker has taken
  std::mutex mutex;
  std::vector<Done> done;  // run, not yet handed back to the event loop
};

Scheduler::Scheduler(asio::io_context& io, const std::vector<checks::CheckPtr>& checks, ResultFn on_result,
                     size_t workers)
    : io_(io), checks_(checks), on_result_(std::move(on_result)), pool_(std::make_unique<asio::thread_pool>(workers)),
      workers_(workers), line_(io) {
  slots_.reserve(checks_.size());
  for (const auto& c : checks_) {
    Slot slot;
    slot.check = c;
    slot.timer = std::make_unique<asio::steady_timer>(io);
    slot.deadline = std::make_unique<asio::steady_timer>(io);
    slots_.push_back(std::move(slot));
  }
}

Scheduler::~Scheduler() {
  stop();
  line_.cut();  // from here on, late results and handlers already queued are dropped
  bool stuck = false;
  for (const auto& s : slots_) stuck = stuck || s.running;
  pool_->stop();
  if (!stuck) {
    pool_->join();
    return;
  }
  // A worker is blocked in a syscall (a dead mount) and holds its check.
  // Joining here would hang the reload or the shutdown: the pool is joined,
  // and freed, on a thread of its own once that run returns.
  std::thread([pool = std::move(pool_)] { pool->join(); }).detach();
}

void Scheduler::start() {
  started_ = true;
  stopped_ = false;
  for (size_t i = 0; i < slots_.size(); ++i) {
    // Spread the first runs over 100 ms so N checks do not all fire in one tick.
    schedule(i, std::chrono::milliseconds(slots_.size() > 1 ? i * 100 / slots_.size() : 0));
    // The check may outlive this scheduler (a run in progress holds it): its watch asks through the line.
    slots_[i].check->watch(io_, [this, i, line = line_] {
      if (line.alive()) runNow(i);
    });
  }
}

void Scheduler::stop() {
  stopped_ = true;
  for (auto& s : slots_) {
    ++s.armed;
    s.timer->cancel();
  }
}

void Scheduler::schedule(size_t index, std::chrono::milliseconds delay) {
  if (!started_ || stopped_) return;
  Slot& slot = slots_[index];
  if (delay >= std::chrono::seconds(1)) {
    slot.timer->expires_at(onGrid(SteadyClock::now() + delay));
  } else {
    slot.timer->expires_after(delay);
  }
  slot.timer->async_wait([this, index, armed = ++slot.armed](std::error_code ec) {
    if (!ec && slots_[index].armed == armed) execute(index);
  });
}

void Scheduler::request(size_t index) {
  Slot& slot = slots_[index];
  if (slot.queued) return;
  slot.queued = true;
  ++slot.armed;  // a periodic wait yields to this run
  slot.timer->cancel();
  line_.post([this, index] {
    slots_[index].queued = false;
    execute(index);
  });
}

void Scheduler::runNow(size_t index) {
  if (index >= slots_.size() || !started_ || stopped_ || slots_[index].running) return;
  request(index);
}

bool Scheduler::runNow(const std::string& name, DoneFn done) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    if (slot.check->name() != name) continue;
    if (slot.hung) {
      line_.post([record = timedOut(*slot.check), done = std::move(done)] { done(record); });
      return true;
    }
    slot.next.push_back(std::move(done));
    if (!slot.running) request(i);  // else the run in progress starts the next one when it ends
    return true;
  }
  return false;
}

Scheduler::Requests Scheduler::takeRequests() {
  Requests out;
  for (auto& s : slots_) {
    for (auto* list : {&s.current, &s.next}) {
      for (auto& d : *list) out.emplace_back(s.check->name(), std::move(d));
      list->clear();
    }
  }
  return out;
}

void Scheduler::execute(size_t index) {
  Slot& slot = slots_[index];
  if (slot.running) {  // a periodic run while the last one is stuck: skipped
    schedule(index, slot.check->common().interval);
    return;
  }
  slot.current = std::move(slot.next);
  slot.next.clear();
  const uint64_t generation = ++slot.generation;
  if (!slot.check->blocking()) {
    const auto start = SteadyClock::now();
    auto outcome = safeRun(*slot.check);
    finish(index, makeRecord(*slot.check, std::move(outcome), unixMillisNow(), microsSince(start)));
    return;
  }
  slot.running = true;
  slot.hung = false;
  slot.deadline->expires_after(slot.check->common().timeout);
  slot.deadline->async_wait([this, index, generation](std::error_code ec) {
    if (!ec) onDeadline(index, generation);
  });
  if (!forming_) {
    forming_ = std::make_shared<Batch>();
    line_.post([this] { dispatchBatch(); });
  }
  forming_->items.push_back({index, slot.check, generation});
}

void Scheduler::onDeadline(size_t index, uint64_t generation) {
  Slot& slot = slots_[index];
  if (slot.generation != generation || !slot.running) return;
  ++slot.generation;  // the late result, when it comes, is dropped
  slot.hung = true;
  log::warn("scheduler", "check timed out", {{"check", slot.check->name()}});
  finish(index, timedOut(*slot.check));
}

// Runs after every timer of this tick has had its turn: one task for them all.
void Scheduler::dispatchBatch() {
  auto batch = std::move(forming_);
  forming_.reset();
  if (!batch || batch->items.empty()) return;
  asio::post(*pool_, [self = this, batch, line = line_] { drain(self, batch, line); });
  if (batch->items.size() > 1) nudge(batch, 1);
}

// Another worker joins a batch that is still not done after kBatchNudge.
void Scheduler::nudge(const std::shared_ptr<Batch>& batch, size_t workers) {
  if (workers >= workers_) {
    nudges_.erase(batch.get());
    return;
  }
  auto& timer = nudges_[batch.get()];
  if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
  timer->expires_after(kBatchNudge);
  timer->async_wait([this, batch, workers](std::error_code ec) {
    if (ec) return;
    if (batch->next.load() >= batch->items.size()) {
      nudges_.erase(batch.get());
      return;
    }
    asio::post(*pool_, [self = this, batch, line = line_] { drain(self, batch, line); });
    nudge(batch, workers + 1);
  });
}

// On a pool worker: runs the batch's items until none is left, then hands
// back everything run so far (including a stuck colleague's earlier items).
// Touches nothing of the scheduler: `self` is only used on the loop, through the line.
void Scheduler::drain(Scheduler* self, const std::shared_ptr<Batch>& batch, const Lifeline& line) {
  for (size_t i; (i = batch->next.fetch_add(1)) < batch->items.size();) {
    if (!line.alive()) return;  // replaced by a reload: nobody wants these results
    const auto start = SteadyClock::now();
    auto outcome = safeRun(*batch->items[i].check);
    const auto micros = microsSince(start);
    std::lock_guard lock(batch->mutex);
    batch->done.push_back({i, std::move(outcome), micros});
  }
  std::vector<Done> done;
  {
    std::lock_guard lock(batch->mutex);
    done.swap(batch->done);
  }
  if (done.empty()) return;
  line.post([self, batch, done = std::move(done)]() mutable { self->complete(batch, done); });
}

void Scheduler::complete(const std::shared_ptr<Batch>& batch, std::vector<Done>& done) {
  for (auto& d : done) {
    const Batch::Item& item = batch->items[d.item];
    Slot& slot = slots_[item.index];
    slot.running = false;
    slot.hung = false;
    slot.deadline->cancel();
    if (slot.generation != item.generation) continue;  // reported as timed out already
    finish(item.index, makeRecord(*slot.check, std::move(d.outcome), unixMillisNow(), d.micros));
  }
  if (batch->next.load() >= batch->items.size()) nudges_.erase(batch.get());
}

void Scheduler::finish(size_t index, const wire::ResultRecord& record) {
  Slot& slot = slots_[index];
  on_result_(record);
  slot.check->afterRun(record);
  auto answered = std::move(slot.current);
  slot.current.clear();
  if (slot.hung) {
    // No run can start while this one is stuck: the requests for the next run get this timeout.
    for (auto& d : slot.next) answered.push_back(std::move(d));
    slot.next.clear();
  }
  for (auto& d : answered) d(record);
  if (!slot.next.empty()) return request(index);
  schedule(index, slot.check->common().interval);
}

}  // namespace hale::agent
