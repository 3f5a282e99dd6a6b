// The scheduler on a real io_context and worker pool: blocking checks due in
// the same tick share a batch, and one that hangs holds none of the others up.
#include "agent/core/scheduler.h"

#include <doctest/doctest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;

namespace {

checks::CommonSettings settings(const std::string& name, std::chrono::milliseconds timeout) {
  checks::CommonSettings c;
  c.name = name;
  c.kind = "test";
  c.interval = 1s;
  c.timeout = timeout;
  return c;
}

class QuickCheck final : public checks::Check {
 public:
  explicit QuickCheck(const std::string& name) : Check(settings(name, 500ms)) {}
  checks::Outcome run() override { return checks::Outcome{checks::CheckStatus::Ok, "fine", {}}; }
  bool blocking() const override { return true; }
};

// Blocks in run() until released: a statvfs on a dead NFS mount.
class HungCheck final : public checks::Check {
 public:
  HungCheck() : Check(settings("hung", 300ms)) {}
  checks::Outcome run() override {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [&] { return released; });
    return checks::Outcome{checks::CheckStatus::Ok, "late", {}};
  }
  bool blocking() const override { return true; }
  void release() {
    std::lock_guard lock(mutex_);
    released = true;
    released_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool released = false;
};

}  // namespace

TEST_CASE("scheduler: a hung blocking check holds up none of the checks due with it") {
  asio::io_context io;
  std::vector<checks::CheckPtr> list;
  auto hung = std::make_unique<HungCheck>();
  HungCheck* hung_ptr = hung.get();
  list.push_back(std::move(hung));  // first: it takes the batch's first slot
  for (int i = 0; i < 3; ++i) list.push_back(std::make_unique<QuickCheck>("quick" + std::to_string(i)));
  std::map<std::string, std::vector<wire::ResultRecord>> results;
  {
    Scheduler scheduler(
        io, list, [&](const wire::ResultRecord& r) { results[r.check].push_back(r); }, 2);
    scheduler.start();
    io.run_for(3500ms);
    scheduler.stop();
    hung_ptr->release();
    // Its late result comes back (and is dropped): no worker is left stuck.
    auto keep_running = asio::make_work_guard(io);
    io.restart();
    io.run_for(300ms);
  }
  // Every quick check ran each second (at 0, 1, 2 and 3 s), all fine.
  for (int i = 0; i < 3; ++i) {
    const auto& got = results["quick" + std::to_string(i)];
    CHECK(got.size() >= 3);
    for (const auto& r : got) CHECK(r.status == wire::CheckStatus::Ok);
  }
  // The hung one reported its timeout once and was skipped while stuck.
  REQUIRE(results["hung"].size() == 1);
  CHECK(results["hung"][0].status == wire::CheckStatus::Unknown);
  CHECK(results["hung"][0].message.find("timed out after 300 ms") != std::string::npos);
}

TEST_CASE("scheduler: checks due in one tick run as one batch, each result delivered") {
  asio::io_context io;
  std::vector<checks::CheckPtr> list;
  for (int i = 0; i < 20; ++i) list.push_back(std::make_unique<QuickCheck>("q" + std::to_string(i)));
  std::map<std::string, int> runs;
  {
    Scheduler scheduler(
        io, list, [&](const wire::ResultRecord& r) { ++runs[r.check]; }, 4);
    scheduler.start();
    io.run_for(2500ms);
    scheduler.stop();
  }
  REQUIRE(runs.size() == 20);
  for (const auto& [name, n] : runs) CHECK_MESSAGE(n >= 2, name);
}
