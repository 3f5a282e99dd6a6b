#pragma once
// Runs every check on its own Asio timer, and runs one now when asked (an
// event, a remedy's verification). Every run of a check goes through here, so
// one guard covers all of them: a check is never run twice at once, and a
// stuck one is skipped until its run returns. Checks that may block run on a
// worker pool with their timeout as a deadline: a hung NFS mount yields an
// "unknown: timed out" result and never stalls the other checks.
// Blocking checks due in the same tick go to the pool as one batch (one
// wake-up of a worker and one of the event loop per tick, not one each per
// check); when a batch is not done within kBatchNudge, another worker joins
// it, so a slow or hung check holds the rest of its batch up that long at most.
// A run holds a reference to its check: a reload may drop the scheduler and
// its checks while a run is still inside Check::run(); the check goes when the
// run returns, and that run's result is dropped.
#include "agent/checks/check.h"
#include "shared/util/lifeline.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hale::agent {

/// Turns an outcome into the record that is stored and sent.
wire::ResultRecord makeRecord(const checks::Check& check, checks::Outcome outcome, int64_t observed_at_ms,
                              uint32_t duration_us);

/// Runs one check now on the calling thread, giving up after its timeout (the
/// run then finishes on a detached thread that keeps the check alive, and its
/// result is discarded). For one-shot runs outside an agent (`hale-agent once`).
wire::ResultRecord runWithDeadline(const checks::CheckPtr& check);

class Scheduler {
 public:
  using ResultFn = std::function<void(const wire::ResultRecord&)>;
  using DoneFn = std::function<void(const wire::ResultRecord&)>;
  /// Requests still waiting for a run, by check name (handed over on reload).
  using Requests = std::vector<std::pair<std::string, DoneFn>>;

  /// Shares ownership of `checks`. Every result goes to `on_result` on the loop.
  Scheduler(asio::io_context& io, const std::vector<checks::CheckPtr>& checks, ResultFn on_result, size_t workers = 4);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Starts the periodic runs and the checks' event watches.
  void start();
  /// Ends periodic and event-driven runs; requested runs (runNow with a callback) are still served.
  void stop();
  /// An event-driven run as soon as possible; none while the check runs (that run sees the new state).
  void runNow(size_t index);
  /// Runs `check` as soon as it is free and hands that run's result to `done` on the loop (the
  /// result also goes to on_result, as every result does). A request made while the check runs waits
  /// for that run to end and gets the next one, which starts right after; while the check is stuck
  /// past its timeout no run can start, so the request gets the timeout at once. On the loop thread.
  /// Returns false, and never calls `done`, when no check has that name.
  bool runNow(const std::string& check, DoneFn done);
  /// The requests not yet answered; they are forgotten here. On a reload the agent hands them to the
  /// new scheduler, whose check of the same name answers them.
  Requests takeRequests();
  const std::vector<checks::CheckPtr>& checks() const { return checks_; }

 private:
  struct Slot {
    checks::CheckPtr check;
    std::unique_ptr<asio::steady_timer> timer;     ///< the next periodic run
    std::unique_ptr<asio::steady_timer> deadline;  ///< the run in progress times out
    uint64_t armed = 0;                            ///< tells the current timer wait from a stale one
    uint64_t generation = 0;                       ///< tells a late result from a run that already timed out
    bool running = false;                          ///< a worker is inside run() (blocking kinds)
    bool hung = false;                             ///< the run in progress was reported as timed out
    bool queued = false;                           ///< a run is posted to the loop
    std::vector<DoneFn> current;                   ///< requests the run in progress answers
    std::vector<DoneFn> next;                      ///< requests the next run answers
  };
  struct Batch;
  struct Done;  ///< a batch item's outcome, on its way back to the loop
  void schedule(size_t index, std::chrono::milliseconds delay);
  void request(size_t index);
  void execute(size_t index);
  void dispatchBatch();
  void nudge(const std::shared_ptr<Batch>& batch, size_t workers);
  static void drain(Scheduler* self, const std::shared_ptr<Batch>& batch, const Lifeline& line);
  void complete(const std::shared_ptr<Batch>& batch, std::vector<Done>& done);
  void onDeadline(size_t index, uint64_t generation);
  void finish(size_t index, const wire::ResultRecord& record);

  asio::io_context& io_;
  std::vector<checks::CheckPtr> checks_;
  std::vector<Slot> slots_;
  ResultFn on_result_;
  std::unique_ptr<asio::thread_pool> pool_;
  size_t workers_;
  std::shared_ptr<Batch> forming_;  ///< blocking checks due in this tick, not yet handed to the pool
  std::map<const Batch*, std::unique_ptr<asio::steady_timer>> nudges_;  ///< on the loop only
  Lifeline line_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace hale::agent
