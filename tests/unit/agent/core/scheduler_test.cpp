// The scheduler on a real io_context and worker pool: blocking checks due in
// the same tick share a batch, one that hangs holds none of the others up,
// every run goes through one guard, and a check dropped while it runs lives
// until its run returns.
#include "agent/core/scheduler.h"
#include "tests/fakes/gate_check.h"

#include <doctest/doctest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <map>
#include <optional>

using namespace hale;
using namespace hale::agent;
using namespace std::chrono_literals;
using test::GateCheck;

namespace {

std::shared_ptr<GateCheck> quick(const std::string& name) { return std::make_shared<GateCheck>(name, 500ms, true, 1s); }

/// Runs the loop until `condition` holds (or 10 s pass).
template <class Condition>
bool runUntil(asio::io_context& io, Condition condition) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  io.restart();
  while (!condition() && std::chrono::steady_clock::now() < until) io.run_for(10ms);
  return condition();
}

}  // namespace

TEST_CASE("scheduler: a hung blocking check holds up none of the checks due with it") {
  asio::io_context io;
  std::vector<checks::CheckPtr> list;
  auto hung = std::make_shared<GateCheck>("hung", 300ms, false, 1s);
  list.push_back(hung);  // first: it takes the batch's first slot
  for (int i = 0; i < 3; ++i) list.push_back(quick("quick" + std::to_string(i)));
  std::map<std::string, std::vector<wire::ResultRecord>> results;
  {
    Scheduler scheduler(
        io, list, [&](const wire::ResultRecord& r) { results[r.check].push_back(r); }, 2);
    scheduler.start();
    io.run_for(3500ms);
    scheduler.stop();
    hung->probe()->release();
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
  for (int i = 0; i < 20; ++i) list.push_back(quick("q" + std::to_string(i)));
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

TEST_CASE("scheduler: a run asked for while the check runs waits for that run, then gets a run of its own") {
  asio::io_context io;
  auto gate = std::make_shared<GateCheck>("gate");
  const auto probe = gate->probe();
  std::vector<wire::ResultRecord> results;
  Scheduler scheduler(io, {gate}, [&](const wire::ResultRecord& r) { results.push_back(r); });
  scheduler.start();
  REQUIRE(runUntil(io, [&] { return probe->read([](auto& p) { return p.entries == 1; }); }));
  std::optional<wire::ResultRecord> answer;
  REQUIRE(scheduler.runNow("gate", [&](const wire::ResultRecord& r) { answer = r; }));
  io.poll();
  CHECK(probe->read([](auto& p) { return p.entries; }) == 1);  // no second run while the first is inside
  probe->release();
  REQUIRE(runUntil(io, [&] { return answer.has_value(); }));
  CHECK(answer->message == "run 2");  // a run that started after the request
  CHECK(probe->read([](auto& p) { return p.most; }) == 1);
  REQUIRE(results.size() == 2);  // both runs were fed as results
  CHECK(results[0].message == "run 1");
}

TEST_CASE("scheduler: a run asked for while the check is stuck past its timeout gets the timeout") {
  asio::io_context io;
  auto gate = std::make_shared<GateCheck>("gate", 200ms);
  const auto probe = gate->probe();
  int results = 0;
  Scheduler scheduler(io, {gate}, [&](const wire::ResultRecord&) { ++results; });
  scheduler.start();
  std::optional<wire::ResultRecord> during, after;
  REQUIRE(runUntil(io, [&] { return probe->read([](auto& p) { return p.entries == 1; }); }));
  REQUIRE(scheduler.runNow("gate", [&](const wire::ResultRecord& r) { during = r; }));
  REQUIRE(runUntil(io, [&] { return during.has_value(); }));  // answered by the run's timeout
  CHECK(during->status == wire::CheckStatus::Unknown);
  CHECK(during->message == "timed out after 200 ms");
  REQUIRE(scheduler.runNow("gate", [&](const wire::ResultRecord& r) { after = r; }));
  REQUIRE(runUntil(io, [&] { return after.has_value(); }));  // still stuck: the timeout at once
  CHECK(after->status == wire::CheckStatus::Unknown);
  CHECK(results == 1);  // the timeout was one result; answering a request adds none
  CHECK(probe->read([](auto& p) { return p.entries; }) == 1);
  CHECK_FALSE(scheduler.runNow("nope", [](const wire::ResultRecord&) {}));
  probe->release();
  REQUIRE(probe->waitUntil([](auto& p) { return p.returned == 1; }));
}

TEST_CASE("scheduler: a check replaced while it runs lives until its run returns, and its result is dropped") {
  asio::io_context io;
  std::vector<checks::CheckPtr> list;
  auto gate = std::make_shared<GateCheck>("latch", 200ms);
  const auto probe = gate->probe();
  list.push_back(std::move(gate));
  std::vector<wire::ResultRecord> results;
  auto scheduler = std::make_unique<Scheduler>(
      io, list, [&](const wire::ResultRecord& r) { results.push_back(r); }, 2);
  scheduler->start();
  REQUIRE(runUntil(io, [&] { return probe->read([](auto& p) { return p.inside == 1; }); }));
  // What a reload does: the scheduler goes, then the list of checks.
  scheduler.reset();
  list.clear();
  probe->release();
  REQUIRE(probe->waitUntil([](auto& p) { return p.returned == 1; }));
  io.restart();
  io.poll();
  CHECK_FALSE(probe->read([](auto& p) { return p.destroyed_while_running; }));
  CHECK(results.empty());
}
