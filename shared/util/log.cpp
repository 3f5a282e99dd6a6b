#include "shared/util/log.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace hale::log {
namespace {
std::atomic<Level> g_level{Level::Info};
std::atomic<Format> g_format{Format::Text};
std::mutex g_write_mutex;

const char* levelName(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  // Microseconds: benchmarks time events (a crash seen, an issue opened) against these stamps.
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, static_cast<int>(us % 1000000));
}

bool needsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}
}  // namespace

Level parseLevel(std::string_view name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn") return Level::Warn;
  if (name == "error") return Level::Error;
  throw std::invalid_argument("expected one of debug, info, warn, error");
}

Format parseFormat(std::string_view name) {
  if (name == "text") return Format::Text;
  if (name == "json") return Format::Json;
  throw std::invalid_argument("expected one of text, json");
}

void configure(Level level, Format format) {
  g_level = level;
  g_format = format;
}

bool enabled(Level level) { return level >= g_level.load(); }

void write(Level level, std::string_view component, std::string_view message, const Fields& fields) {
  if (!enabled(level)) return;
  std::string line;
  if (g_format.load() == Format::Json) {
    nlohmann::json j;
    j["ts"] = timestamp();
    j["level"] = levelName(level);
    j["component"] = component;
    j["msg"] = message;
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = fmt::format("{} {:5} {}: {}", timestamp(), levelName(level), component, message);
    for (const auto& [k, v] : fields) {
      if (needsQuotes(v)) {
        line +=
            fmt::format(" {}={}", k, nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      } else {
        line += fmt::format(" {}={}", k, v);
      }
    }
  }
  line += '\n';
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

long RateLimiter::allow(const std::string& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (slots_.size() > 10000) slots_.clear();  // bounded: an attacker can invent keys
  auto [it, inserted] = slots_.try_emplace(key);
  Slot& slot = it->second;
  if (inserted || now - slot.last >= period_) {
    const long suppressed = slot.suppressed;
    slot.last = now;
    slot.suppressed = 0;
    return suppressed;
  }
  ++slot.suppressed;
  return -1;
}

bool limited(RateLimiter& limiter, std::chrono::steady_clock::time_point now, Level level, std::string_view component,
             std::string_view message, const Fields& fields) {
  std::string key = fmt::format("{}\x1f{}", component, message);
  for (const auto& [name, value] : fields) key += fmt::format("\x1f{}={}", name, value);
  const long held_back = limiter.allow(key, now);
  if (held_back < 0) return false;
  if (held_back == 0) {
    write(level, component, message, fields);
  } else {
    Fields with_count = fields;
    with_count.emplace_back("repeated", std::to_string(held_back));
    write(level, component, message, with_count);
  }
  return true;
}

void errorRepeated(std::string_view component, std::string_view message, const Fields& fields) {
  static RateLimiter limiter(std::chrono::minutes(5));
  limited(limiter, std::chrono::steady_clock::now(), Level::Error, component, message, fields);
}

}  // namespace hale::log
