#include "agent/platform/proc_stats.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>
#include <vector>

namespace hale::agent::platform {
namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <class Fn>
void forEachLine(std::string_view text, Fn fn) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    fn(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::optional<uint64_t> toU64(std::string_view s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// from_chars for double is in libstdc++ 11+, but strtod keeps this portable.
std::optional<double> toDouble(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  const std::string copy(s);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || v != v) return std::nullopt;
  return v;
}

}  // namespace

std::optional<LoadAvg> parseLoadAvg(std::string_view text) {
  const auto w = words(text.substr(0, text.find('\n')));
  if (w.size() < 4) return std::nullopt;
  LoadAvg out;
  const auto a = toDouble(w[0]), b = toDouble(w[1]), c = toDouble(w[2]);
  const auto slash = w[3].find('/');
  if (!a || !b || !c || slash == std::string_view::npos) return std::nullopt;
  const auto run = toU64(w[3].substr(0, slash)), all = toU64(w[3].substr(slash + 1));
  if (!run || !all) return std::nullopt;
  out.one = *a;
  out.five = *b;
  out.fifteen = *c;
  out.runnable = static_cast<int64_t>(*run);
  out.threads = static_cast<int64_t>(*all);
  return out;
}

std::optional<CpuTimes> parseCpuTimes(std::string_view stat) {
  std::optional<CpuTimes> out;
  forEachLine(stat, [&](std::string_view line) {
    if (out) return;
    const auto w = words(line);
    if (w.size() < 5 || w[0] != "cpu") return;
    uint64_t v[8] = {};
    for (size_t i = 1; i < w.size() && i <= 8; ++i) {
      auto n = toU64(w[i]);
      if (!n) return;
      v[i - 1] = *n;
    }
    out = CpuTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
  });
  return out;
}

int countCpus(std::string_view stat) {
  int n = 0;
  forEachLine(stat, [&](std::string_view line) {
    if (line.size() > 3 && line.starts_with("cpu") && line[3] >= '0' && line[3] <= '9') ++n;
  });
  return n;
}

std::optional<double> cpuBusyPercent(const CpuTimes& before, const CpuTimes& after) {
  if (after.total() <= before.total() || after.idleAll() < before.idleAll()) return std::nullopt;
  const double total = static_cast<double>(after.total() - before.total());
  const double idle = static_cast<double>(after.idleAll() - before.idleAll());
  if (idle > total) return std::nullopt;
  return 100.0 * (total - idle) / total;
}

std::optional<MemInfo> parseMemInfo(std::string_view text) {
  MemInfo out;
  std::optional<uint64_t> total, available, free, buffers, cached, swap_total, swap_free;
  forEachLine(text, [&](std::string_view line) {
    const auto w = words(line);
    if (w.size() < 2) return;
    const auto value = toU64(w[1]);
    if (!value) return;
    if (w[0] == "MemTotal:")
      total = value;
    else if (w[0] == "MemAvailable:")
      available = value;
    else if (w[0] == "MemFree:")
      free = value;
    else if (w[0] == "Buffers:")
      buffers = value;
    else if (w[0] == "Cached:")
      cached = value;
    else if (w[0] == "SwapTotal:")
      swap_total = value;
    else if (w[0] == "SwapFree:")
      swap_free = value;
  });
  if (!total || *total == 0) return std::nullopt;
  out.total_kb = *total;
  if (available) {
    out.available_kb = *available;
  } else if (free) {
    out.available_kb = *free + buffers.value_or(0) + cached.value_or(0);
    out.estimated = true;
  } else {
    return std::nullopt;
  }
  out.swap_total_kb = swap_total.value_or(0);
  out.swap_free_kb = std::min(swap_free.value_or(0), out.swap_total_kb);
  return out;
}

std::optional<Pressure> parsePressure(std::string_view text) {
  std::optional<double> some, full;
  forEachLine(text, [&](std::string_view line) {
    const auto w = words(line);
    if (w.size() < 2 || !w[1].starts_with("avg10=")) return;
    const auto v = toDouble(w[1].substr(6));
    if (!v) return;
    if (w[0] == "some")
      some = v;
    else if (w[0] == "full")
      full = v;
  });
  if (!some) return std::nullopt;
  return Pressure{*some, full};
}

}  // namespace hale::agent::platform
