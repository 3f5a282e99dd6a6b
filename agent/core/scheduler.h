#pragma once
// Runs every check on its own Asio timer. Checks that may block run on a
// worker pool with their timeout as a deadline: a hung NFS mount yields an
// "unknown: timed out" result and never stalls the other checks. A check is
// never run twice at once; a stuck one is skipped until its run returns.
// Blocking checks due in the same tick go to the pool as one batch (one
// wake-up of a worker and one of the event loop per tick, not one each per
// check); when a batch is not done within kBatchNudge, another worker joins
// it, so a slow or hung check holds the rest of its batch up that long at most.
#include "agent/checks/check.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace hale::agent {

/// Turns an outcome into the record that is stored and sent.
wire::ResultRecord makeRecord(const checks::Check& check, checks::Outcome outcome, int64_t observed_at_ms,
                              uint32_t duration_us);

/// Runs one check now on the calling thread, giving up after its timeout (the
/// run then finishes on a detached thread and its result is discarded).
wire::ResultRecord runWithDeadline(checks::Check& check);

class Scheduler {
 public:
  using ResultFn = std::function<void(const wire::ResultRecord&)>;

  Scheduler(asio::io_context& io, std::vector<checks::CheckPtr>& checks, ResultFn on_result, size_t workers = 4);
  ~Scheduler();

  void start();
  void stop();
  /// Runs a check as soon as possible (event-driven checks call this).
  void runNow(size_t index);

 private:
  struct Slot {
    checks::Check* check;
    std::unique_ptr<asio::steady_timer> timer;
    bool running = false;
    uint64_t generation = 0;  ///< tells a late result from a run that already timed out
  };
  struct Batch;
  void schedule(size_t index, std::chrono::milliseconds delay);
  void dispatchBatch();
  void drain(const std::shared_ptr<Batch>& batch, const std::weak_ptr<bool>& alive);
  void nudge(const std::shared_ptr<Batch>& batch, size_t workers);
  void execute(size_t index);
  void finish(size_t index, uint64_t generation, const wire::ResultRecord& record);

  asio::io_context& io_;
  std::vector<Slot> slots_;
  ResultFn on_result_;
  std::unique_ptr<asio::thread_pool> pool_;
  size_t workers_;
  std::shared_ptr<Batch> forming_;  ///< blocking checks due in this tick, not yet handed to the pool
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool stopped_ = false;
};

}  // namespace hale::agent
