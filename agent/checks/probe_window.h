#pragma once
// What every probe kind (tcp_probe, http_probe, command_probe) shares: a
// sliding window of latencies with p50/p95/p99 over it, and an SLO rule such as
// "p95 < 200 ms over 5 m" that turns the probe critical while it is violated.
#include "agent/checks/check.h"

#include <array>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace hale::agent::checks {

/// The SLO keys each probe kind appends to its own FieldSpec table.
inline constexpr std::array<config::FieldSpec, 6> kProbeWindowFields{{
    {"window", config::FieldType::Duration, "5m", "sliding window the percentiles and the SLO are computed over"},
    {"slo_p50_ms", config::FieldType::Float, "", "critical while the window's p50 latency (ms) exceeds this"},
    {"slo_p95_ms", config::FieldType::Float, "", "critical while the window's p95 latency (ms) exceeds this"},
    {"slo_p99_ms", config::FieldType::Float, "", "critical while the window's p99 latency (ms) exceeds this"},
    {"slo_min_samples", config::FieldType::Integer, "5", "samples in the window needed before the SLO is judged"},
    {"slo_min_success_percent", config::FieldType::Float, "", "critical while fewer probes than this (%) succeed"},
}};

/// Joins a kind's own fields with kProbeWindowFields at compile time.
template <size_t N>
constexpr std::array<config::FieldSpec, N + kProbeWindowFields.size()> withProbeWindowFields(
    const std::array<config::FieldSpec, N>& own) {
  std::array<config::FieldSpec, N + kProbeWindowFields.size()> out{};
  for (size_t i = 0; i < N; ++i) out[i] = own[i];
  for (size_t i = 0; i < kProbeWindowFields.size(); ++i) out[N + i] = kProbeWindowFields[i];
  return out;
}

/// Latency samples of the last `span`, oldest first. Failed probes count
/// towards the success ratio but not towards the latency percentiles.
class LatencyWindow {
 public:
  static constexpr size_t kMaxSamples = 10'000;  ///< bounds memory at 100 ms intervals over long windows

  explicit LatencyWindow(std::chrono::milliseconds span) : span_(span) {}

  void add(MonoTime at, double latency_ms, bool ok);
  /// Drops samples older than `now - span`.
  void prune(MonoTime now);

  /// Nearest-rank percentile (0 < p <= 100) of the successful samples.
  std::optional<double> percentile(double p) const;
  size_t samples() const { return samples_.size(); }
  size_t successes() const;
  std::chrono::milliseconds span() const { return span_; }

  /// Held by recordProbe. The Scheduler never overlaps runs of one check, but
  /// runWithDeadline alone abandons a late run that may still be recording.
  std::mutex& mutex() { return mutex_; }

 private:
  std::mutex mutex_;
  struct Sample {
    MonoTime at;
    double ms;
    bool ok;
  };
  std::chrono::milliseconds span_;
  std::deque<Sample> samples_;
};

struct SloRule {
  std::optional<double> p50_ms, p95_ms, p99_ms, min_success_percent;
  int64_t min_samples = 5;

  /// Reads the kProbeWindowFields keys; throws ConfigError on bad values.
  static SloRule read(const config::Fields& fields);
};

/// Records this run's sample, adds p50/p95/p99, samples and success_percent
/// metrics, and raises `out` to Crit with a reason when the SLO is violated.
void recordProbe(Outcome& out, LatencyWindow& window, const SloRule& slo, MonoTime now, double latency_ms, bool ok);

}  // namespace hale::agent::checks
