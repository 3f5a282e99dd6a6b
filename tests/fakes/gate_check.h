#pragma once
// A blocking check whose runs wait while its gate is closed: a statvfs on a
// dead mount, held by the test. Its Probe outlives it, so a test sees how
// many runs were inside run() at once, and whether the check was destroyed
// while a run was still inside (what a reload must never do).
#include "agent/checks/check.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

namespace hale::test {

class GateCheck final : public agent::checks::Check {
 public:
  struct Probe {
    /// Lets every run waiting at the gate, and every later one, through.
    void release() {
      std::lock_guard lock(mutex);
      open = true;
      changed.notify_all();
    }
    /// Waits until `condition(*this)` holds, with the probe locked.
    template <class Condition>
    bool waitUntil(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
      std::unique_lock lock(mutex);
      return changed.wait_for(lock, timeout, [&] { return condition(*this); });
    }
    template <class Read>
    auto read(Read read) {
      std::lock_guard lock(mutex);
      return read(*this);
    }

    std::mutex mutex;
    std::condition_variable changed;
    bool open = false;
    int inside = 0;    ///< runs inside run() now
    int most = 0;      ///< most runs inside run() at once
    int entries = 0;   ///< runs started
    int returned = 0;  ///< runs that returned
    bool destroyed_while_running = false;
  };

  /// `open`: runs return at once (a quick check) until the test closes nothing more.
  explicit GateCheck(std::string name, std::chrono::milliseconds timeout = std::chrono::seconds(5), bool open = false,
                     std::chrono::milliseconds interval = std::chrono::hours(1))
      : Check(settings(std::move(name), timeout, interval)), probe_(std::make_shared<Probe>()) {
    probe_->open = open;
  }
  ~GateCheck() override {
    std::lock_guard lock(probe_->mutex);
    if (probe_->inside > 0) probe_->destroyed_while_running = true;
  }

  bool blocking() const override { return true; }
  agent::checks::Outcome run() override {
    const auto probe = probe_;  // a copy: once the gate opens, `this` may be gone on a broken scheduler
    std::unique_lock lock(probe->mutex);
    const int entry = ++probe->entries;
    probe->most = std::max(probe->most, ++probe->inside);
    probe->changed.notify_all();
    probe->changed.wait(lock, [&] { return probe->open; });
    --probe->inside;
    ++probe->returned;
    probe->changed.notify_all();
    return agent::checks::Outcome{agent::checks::CheckStatus::Ok, "run " + std::to_string(entry), {}};
  }
  const std::shared_ptr<Probe>& probe() const { return probe_; }

 private:
  static agent::checks::CommonSettings settings(std::string name, std::chrono::milliseconds timeout,
                                                std::chrono::milliseconds interval) {
    agent::checks::CommonSettings c;
    c.name = std::move(name);
    c.kind = "test";
    c.interval = interval;
    c.timeout = timeout;
    return c;
  }
  std::shared_ptr<Probe> probe_;
};

}  // namespace hale::test
