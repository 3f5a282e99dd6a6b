#include "agent/checks/probe_window.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace hale::agent::checks {

void LatencyWindow::add(MonoTime at, double latency_ms, bool ok) {
  samples_.push_back({at, latency_ms, ok});
  if (samples_.size() > kMaxSamples) samples_.pop_front();
}

void LatencyWindow::prune(MonoTime now) {
  while (!samples_.empty() && samples_.front().at < now - span_) samples_.pop_front();
}

std::optional<double> LatencyWindow::percentile(double p) const {
  std::vector<double> ms;
  ms.reserve(samples_.size());
  for (const auto& s : samples_)
    if (s.ok) ms.push_back(s.ms);
  if (ms.empty() || p <= 0 || p > 100) return std::nullopt;
  std::sort(ms.begin(), ms.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(ms.size())));
  return ms[std::clamp<size_t>(rank, 1, ms.size()) - 1];
}

size_t LatencyWindow::successes() const {
  return static_cast<size_t>(std::count_if(samples_.begin(), samples_.end(), [](const auto& s) { return s.ok; }));
}

SloRule SloRule::read(const config::Fields& f) {
  SloRule r;
  r.p50_ms = f.optNumber("slo_p50_ms");
  r.p95_ms = f.optNumber("slo_p95_ms");
  r.p99_ms = f.optNumber("slo_p99_ms");
  r.min_success_percent = f.optNumber("slo_min_success_percent");
  r.min_samples = f.integer("slo_min_samples");
  for (auto [key, v] : {std::pair{"slo_p50_ms", r.p50_ms}, {"slo_p95_ms", r.p95_ms}, {"slo_p99_ms", r.p99_ms}})
    if (v && *v <= 0) f.fail(key, "must be positive");
  if (r.min_success_percent && (*r.min_success_percent < 0 || *r.min_success_percent > 100))
    f.fail("slo_min_success_percent", "expected 0..100");
  if (r.min_samples < 1) f.fail("slo_min_samples", "must be at least 1");
  const auto window = f.duration("window");
  if (window < std::chrono::seconds(1)) f.fail("window", "must be at least 1s");
  return r;
}

void recordProbe(Outcome& out, LatencyWindow& window, const SloRule& slo, MonoTime now, double latency_ms, bool ok) {
  std::lock_guard lock(window.mutex());
  window.prune(now);
  window.add(now, latency_ms, ok);
  const size_t n = window.samples(), good = window.successes();
  const double success = 100.0 * static_cast<double>(good) / static_cast<double>(n);
  out.metric("latency_ms", latency_ms).metric("samples", static_cast<double>(n)).metric("success_percent", success);
  const auto p50 = window.percentile(50), p95 = window.percentile(95), p99 = window.percentile(99);
  if (p50) out.metric("p50_ms", *p50).metric("p95_ms", *p95).metric("p99_ms", *p99);
  if (static_cast<int64_t>(n) < slo.min_samples) return;
  const std::string span = config::formatDuration(window.span());
  std::vector<std::string> broken;
  if (slo.min_success_percent && success < *slo.min_success_percent)
    broken.push_back(fmt::format("success {:.1f}% < {}% over {}", success, *slo.min_success_percent, span));
  if (static_cast<int64_t>(good) >= slo.min_samples) {
    auto check = [&](const char* name, const std::optional<double>& value, const std::optional<double>& limit) {
      if (limit && value && *value > *limit)
        broken.push_back(fmt::format("{} {:.1f} ms > {} ms over {}", name, *value, *limit, span));
    };
    check("p50", p50, slo.p50_ms);
    check("p95", p95, slo.p95_ms);
    check("p99", p99, slo.p99_ms);
  }
  out.metric("slo_ok", broken.empty() ? 1 : 0);
  if (broken.empty()) return;
  out.status = std::max(out.status, CheckStatus::Crit);
  out.message += "; SLO violated: ";
  for (size_t i = 0; i < broken.size(); ++i) out.message += (i ? ", " : "") + broken[i];
}

}  // namespace hale::agent::checks
