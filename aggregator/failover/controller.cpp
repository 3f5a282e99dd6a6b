#include "aggregator/failover/controller.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace hale::aggregator::failover {

std::string_view failbackName(Failback f) { return f == Failback::Auto ? "auto" : "manual"; }

Controller::Controller(std::vector<RegionPolicy> regions, std::optional<State> restored)
    : regions_(std::move(regions)) {
  if (regions_.empty()) throw std::invalid_argument("failover needs at least one region");
  std::stable_sort(regions_.begin(), regions_.end(), [](const RegionPolicy& a, const RegionPolicy& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.name < b.name;
  });
  for (const auto& r : regions_) {
    if (!tracks_.emplace(r.name, Track{}).second) throw std::invalid_argument("duplicate failover region " + r.name);
  }
  if (restored) state_ = *restored;
}

const RegionPolicy* Controller::policy(const std::string& name) const {
  for (const auto& r : regions_)
    if (r.name == name) return &r;
  return nullptr;
}

int Controller::badStreak(const std::string& region) const {
  const auto it = tracks_.find(region);
  return it == tracks_.end() ? 0 : it->second.bad_streak;
}

void Controller::closeWindows(const RegionPolicy& policy, Track& t, int64_t now_ms) {
  const int64_t len = policy.window.count();
  while (t.window_start_ms >= 0 && now_ms >= t.window_start_ms + len) {
    if (t.samples == 0) {
      // No score is no evidence of health, nor of sickness.
      t.last_good = false;
      t.good_since_ms = -1;
    } else if (t.sum / t.samples < policy.threshold) {
      ++t.bad_streak;
      t.last_good = false;
      t.good_since_ms = -1;
    } else {
      t.bad_streak = 0;
      t.last_good = true;
      if (t.good_since_ms < 0) t.good_since_ms = t.window_start_ms;
      t.good_until_ms = t.window_start_ms + len;
    }
    t.window_start_ms += len;
    t.sum = 0;
    t.samples = 0;
  }
}

Decision Controller::decide(int64_t now_ms, const std::string& to, std::string reason) {
  Decision d{now_ms, state_.epoch + 1, state_.active, to, std::move(reason)};
  state_ = State{to, d.epoch, now_ms};
  return d;
}

std::optional<Decision> Controller::evaluate(int64_t now_ms, std::span<const Observation> observations) {
  for (const auto& policy : regions_) {
    Track& t = tracks_[policy.name];
    closeWindows(policy, t, now_ms);
    if (t.window_start_ms < 0) t.window_start_ms = now_ms;
    t.remediating = false;
    for (const auto& o : observations) {
      if (o.region != policy.name) continue;
      if (o.score) {
        t.sum += *o.score;
        ++t.samples;
      }
      t.remediating = o.remediating;
    }
  }

  const RegionPolicy* active = policy(state_.active);
  if (!active)
    return decide(now_ms, regions_.front().name, state_.active.empty() ? "initial" : "configured regions changed");
  const Track& at = tracks_[active->name];
  if (now_ms - state_.since_ms < active->min_dwell.count()) return std::nullopt;

  if (at.bad_streak >= active->windows && !(active->hold_while_remediating && at.remediating)) {
    for (const auto& r : regions_) {
      if (r.name != active->name && tracks_[r.name].last_good)
        return decide(now_ms, r.name, fmt::format("demoted: {} windows below {}", at.bad_streak, active->threshold));
    }
    return std::nullopt;  // nowhere better to go
  }

  for (const auto& r : regions_) {
    if (r.name == active->name) break;  // only regions placed before the active one
    const Track& t = tracks_[r.name];
    if (r.failback == Failback::Auto && t.last_good && t.good_since_ms >= 0 &&
        t.good_until_ms - t.good_since_ms >= r.failback_after.count())
      return decide(now_ms, r.name, "failback");
  }
  return std::nullopt;
}

std::optional<Decision> Controller::promote(const std::string& region, int64_t now_ms, const std::string& why) {
  if (!policy(region) || region == state_.active) return std::nullopt;
  return decide(now_ms, region, why);
}

}  // namespace hale::aggregator::failover
