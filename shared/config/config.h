#pragma once
// Declarative configuration: each section or check kind lists its keys in a
// FieldSpec table (after Fluent Bit's config_map). The table drives validation,
// defaults and `help` output, so the three can never disagree.
#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hale::config {

struct SourcePos {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

/// A configuration or startup error, printed as `file:line:col: message`.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(SourcePos pos, const std::string& message);
  explicit ConfigError(const std::string& message) : std::runtime_error(message) {}
  const SourcePos& pos() const { return pos_; }

 private:
  SourcePos pos_;
};

enum class FieldType { String, Integer, Float, Bool, Duration, StringArray };
std::string_view fieldTypeName(FieldType type);

struct FieldSpec {
  std::string_view key;
  FieldType type;
  std::string_view default_value;  ///< empty: no default (optional unless required)
  std::string_view description;
  bool required = false;
};

using FieldValue = std::variant<std::monostate, std::string, int64_t, double, bool, std::chrono::milliseconds,
                                std::vector<std::string>>;

/// "250ms", "10s", "5m", "2h", "1d", "1h30m"; nullopt when malformed.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);
std::string formatDuration(std::chrono::milliseconds d);

/// The validated values of one TOML table.
class Fields {
 public:
  Fields() = default;

  bool has(std::string_view key) const;
  std::string str(std::string_view key) const;
  std::optional<std::string> optStr(std::string_view key) const;
  int64_t integer(std::string_view key) const;
  std::optional<int64_t> optInteger(std::string_view key) const;
  double number(std::string_view key) const;  ///< Float fields; integers are accepted there
  std::optional<double> optNumber(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::chrono::milliseconds duration(std::string_view key) const;
  std::optional<std::chrono::milliseconds> optDuration(std::string_view key) const;
  std::vector<std::string> strings(std::string_view key) const;

  /// Where a key was written (or its table, when it took its default).
  SourcePos where(std::string_view key) const;
  /// Throws ConfigError at the key's position: for rules between fields (warn < crit).
  [[noreturn]] void fail(std::string_view key, const std::string& message) const;
  const std::string& context() const { return context_; }

 private:
  friend Fields readFields(const toml::table&, std::span<const FieldSpec>, const std::string&, const std::string&);
  const FieldValue& get(std::string_view key) const;
  std::map<std::string, FieldValue, std::less<>> values_;
  std::map<std::string, SourcePos, std::less<>> positions_;
  SourcePos table_pos_;
  std::string context_;
};

/// Validates `table` against `spec`: unknown keys, wrong types and missing
/// required keys throw ConfigError naming file, line, column and key.
/// `context` names the table in messages, e.g. "check 'root-disk'".
Fields readFields(const toml::table& table, std::span<const FieldSpec> spec, const std::string& file,
                  const std::string& context);

/// Parses a TOML file; syntax errors become ConfigError with position.
toml::table parseFile(const std::string& path);
/// Parses TOML text (tests, fuzzing); `name` stands in for the file name.
toml::table parseText(std::string_view text, const std::string& name);

SourcePos positionOf(const toml::node& node, const std::string& file);

/// Rejects keys of `table` outside `allowed` (for tables holding sub-tables).
void rejectUnknownKeys(const toml::table& table, std::span<const std::string_view> allowed, const std::string& file,
                       const std::string& context);

/// A human-readable table of the keys: key, type, default, description.
std::string describeFields(std::span<const FieldSpec> spec);

/// Throws ConfigError naming the key and path when a file is missing or unreadable.
void requireReadableFile(const Fields& fields, std::string_view key);

}  // namespace hale::config
