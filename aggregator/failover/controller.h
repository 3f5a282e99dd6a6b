#pragma once
// Multi-region failover as a pure state machine: fed with the time, each
// region's health score and whether its nodes are mid-remediation, it decides
// which region is active. No clock, no I/O: every rule is tested with worked
// examples and a fake clock (tests/unit/failover_controller_test.cpp).
//
// THE RULES (also in docs/aggregator.md, "Failover"; change both together)
//   - Time is cut into windows of `window` per region. A window's verdict is
//     the mean of the scores sampled in it: bad when below `threshold`, good
//     otherwise; a window without samples (no nodes, no score) is "unknown":
//     it ends a run of good windows but does not count as bad.
//   - The active region is demoted after `windows` consecutive bad windows,
//     unless `hold_while_remediating` is set and its nodes are mid-remediation
//     (Hale may be fixing it right now), and only once it has been active for
//     `min_dwell`. The region promoted is the healthy one (last window good)
//     with the best priority (lowest number; ties by name). None healthy: no change.
//   - Failback: a region better placed than the active one that has had only
//     good windows for `failback_after` takes over again when its policy is
//     "auto" (and the active one has dwelt `min_dwell`); with "manual" an
//     operator decides (promote()).
//   - Each decision raises the epoch by one; agents refuse older epochs.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hale::aggregator::failover {

enum class Failback { Manual, Auto };

struct RegionPolicy {
  std::string name;
  int priority = 100;     ///< lower is preferred
  double threshold = 70;  ///< a window whose mean score is below this is bad
  int windows = 3;        ///< consecutive bad windows before demotion
  std::chrono::milliseconds window{std::chrono::minutes(1)};
  std::chrono::milliseconds min_dwell{std::chrono::minutes(10)};
  Failback failback = Failback::Manual;
  std::chrono::milliseconds failback_after{std::chrono::minutes(30)};
  bool hold_while_remediating = false;
};

struct Observation {
  std::string region;
  std::optional<double> score;  ///< nullopt: no score (no nodes)
  bool remediating = false;
};

struct State {
  std::string active;    ///< empty before the first decision
  uint64_t epoch = 0;    ///< of the last decision
  int64_t since_ms = 0;  ///< when the active region became active
};

struct Decision {
  int64_t at_ms = 0;
  uint64_t epoch = 0;
  std::string from;  ///< empty for the first decision
  std::string to;
  std::string reason;  ///< "initial", "demoted: ...", "failback", "manual"
};

class Controller {
 public:
  /// `regions` must be non-empty with unique names; `restored` continues a
  /// persisted state (its epoch keeps growing from there).
  Controller(std::vector<RegionPolicy> regions, std::optional<State> restored = std::nullopt);

  /// Feeds one sample per region (missing regions count as no score) and
  /// returns the decision taken at `now_ms`, if any. The first call without a
  /// restored state always decides: the preferred region becomes active.
  std::optional<Decision> evaluate(int64_t now_ms, std::span<const Observation> observations);

  /// An operator's choice (manual failback): ignores dwell and health.
  /// Nullopt when `region` is unknown or already active.
  std::optional<Decision> promote(const std::string& region, int64_t now_ms, const std::string& why = "manual");

  const State& state() const { return state_; }
  const std::vector<RegionPolicy>& regions() const { return regions_; }
  /// Consecutive bad windows of a region so far (for the API).
  int badStreak(const std::string& region) const;

 private:
  struct Track {
    int64_t window_start_ms = -1;
    double sum = 0;
    int samples = 0;
    int bad_streak = 0;
    bool last_good = false;
    int64_t good_since_ms = -1;  ///< start of the current run of good windows; -1: none
    int64_t good_until_ms = -1;  ///< end of the last good window
    bool remediating = false;
  };

  void closeWindows(const RegionPolicy& policy, Track& t, int64_t now_ms);
  const RegionPolicy* policy(const std::string& name) const;
  Decision decide(int64_t now_ms, const std::string& to, std::string reason);

  std::vector<RegionPolicy> regions_;  ///< sorted by priority, then name
  std::map<std::string, Track> tracks_;
  State state_;
};

std::string_view failbackName(Failback f);

}  // namespace hale::aggregator::failover
