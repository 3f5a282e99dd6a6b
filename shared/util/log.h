#pragma once
// Logging to stderr: one line per event, text for people or JSON lines for
// collectors. Fields are key/value pairs so both formats carry the same data.
#include <fmt/format.h>

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hale::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class Format { Text, Json };

using Fields = std::vector<std::pair<std::string_view, std::string>>;

/// Throws std::invalid_argument on an unknown name.
Level parseLevel(std::string_view name);
Format parseFormat(std::string_view name);

void configure(Level level, Format format);
bool enabled(Level level);
void write(Level level, std::string_view component, std::string_view message, const Fields& fields = {});

inline void debug(std::string_view c, std::string_view m, const Fields& f = {}) { write(Level::Debug, c, m, f); }
inline void info(std::string_view c, std::string_view m, const Fields& f = {}) { write(Level::Info, c, m, f); }
inline void warn(std::string_view c, std::string_view m, const Fields& f = {}) { write(Level::Warn, c, m, f); }
inline void error(std::string_view c, std::string_view m, const Fields& f = {}) { write(Level::Error, c, m, f); }

/// Lets one line per key through per period; counts the rest so the next line
/// that passes says how many were suppressed. For input an attacker controls.
class RateLimiter {
 public:
  explicit RateLimiter(std::chrono::steady_clock::duration period) : period_(period) {}
  /// Returns the number suppressed since the last allowed line, or -1 to suppress this one.
  long allow(const std::string& key, std::chrono::steady_clock::time_point now);

 private:
  struct Slot {
    std::chrono::steady_clock::time_point last;
    long suppressed = 0;
  };
  std::chrono::steady_clock::duration period_;
  std::mutex mutex_;
  std::unordered_map<std::string, Slot> slots_;
};

/// For a failure that recurs on every run (a full disk, a broken database):
/// the first occurrence is written, identical ones (same component, message
/// and field values) are then counted, and one line per `limiter` period
/// says how many were held back (`repeated`). Returns whether it wrote.
bool limited(RateLimiter& limiter, std::chrono::steady_clock::time_point now, Level level, std::string_view component,
             std::string_view message, const Fields& fields = {});

/// limited() at Error level with a process-wide limiter of five minutes.
void errorRepeated(std::string_view component, std::string_view message, const Fields& fields = {});

}  // namespace hale::log
