#pragma once
// Runs every check on its own Asio timer. Checks that may block run on a
// worker pool with their timeout as a deadline: a hung NFS mount yields an
// "unknown: timed out" result and never stalls the other checks. A check is
// never run twice at once; a stuck one is skipped until its run returns.
#include "agent/checks/check.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

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
  void schedule(size_t index, std::chrono::milliseconds delay);
  void execute(size_t index);
  void finish(size_t index, uint64_t generation, const wire::ResultRecord& record);

  asio::io_context& io_;
  std::vector<Slot> slots_;
  ResultFn on_result_;
  std::unique_ptr<asio::thread_pool> pool_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool stopped_ = false;
};

}  // namespace hale::agent
