#include "shared/config/config.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <unistd.h>

namespace hale::config {

ConfigError::ConfigError(SourcePos pos, const std::string& message)
    : std::runtime_error(fmt::format("{}:{}:{}: {}", pos.file, pos.line, pos.column, message)), pos_(std::move(pos)) {}

std::string_view fieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::String:
      return "string";
    case FieldType::Integer:
      return "integer";
    case FieldType::Float:
      return "number";
    case FieldType::Bool:
      return "boolean";
    case FieldType::Duration:
      return "duration";
    case FieldType::StringArray:
      return "array of strings";
  }
  return "value";
}

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t number = 0;
    auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + text.size(), number);
    if (ec != std::errc() || number < 0) return std::nullopt;
    i = static_cast<size_t>(ptr - text.data());
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    int64_t factor = 0;
    if (unit == "ms")
      factor = 1;
    else if (unit == "s")
      factor = 1000;
    else if (unit == "m")
      factor = 60'000;
    else if (unit == "h")
      factor = 3'600'000;
    else if (unit == "d")
      factor = 86'400'000;
    else
      return std::nullopt;
    if (number > (INT64_MAX - total) / factor) return std::nullopt;
    total += number * factor;
  }
  return std::chrono::milliseconds(total);
}

std::string formatDuration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms % 86'400'000 == 0 && ms != 0) return fmt::format("{}d", ms / 86'400'000);
  if (ms % 3'600'000 == 0 && ms != 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0 && ms != 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

SourcePos positionOf(const toml::node& node, const std::string& file) {
  const auto& src = node.source();
  return SourcePos{file, src.begin.line, src.begin.column};
}

namespace {

std::string tomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "value";
  }
}

// Converts one TOML node to the spec's type, or explains what was expected.
std::optional<FieldValue> convert(const toml::node& node, FieldType type, std::string& why) {
  switch (type) {
    case FieldType::String:
      if (auto s = node.as_string()) return FieldValue{s->get()};
      break;
    case FieldType::Integer:
      if (auto i = node.as_integer()) return FieldValue{i->get()};
      break;
    case FieldType::Float:
      if (auto f = node.as_floating_point()) return FieldValue{f->get()};
      if (auto i = node.as_integer()) return FieldValue{static_cast<double>(i->get())};
      break;
    case FieldType::Bool:
      if (auto b = node.as_boolean()) return FieldValue{b->get()};
      break;
    case FieldType::Duration:
      if (auto i = node.as_integer()) {
        if (i->get() < 0) {
          why = "a duration must not be negative";
          return std::nullopt;
        }
        return FieldValue{std::chrono::milliseconds(i->get() * 1000)};
      }
      if (auto s = node.as_string()) {
        if (auto d = parseDuration(s->get())) return FieldValue{*d};
        why = fmt::format("expected a duration such as \"500ms\", \"10s\", \"5m\", \"2h\", got \"{}\"", s->get());
        return std::nullopt;
      }
      break;
    case FieldType::StringArray:
      if (auto a = node.as_array()) {
        std::vector<std::string> out;
        for (const auto& elem : *a) {
          auto s = elem.as_string();
          if (!s) {
            why = fmt::format("expected an array of strings, found an element of type {}", tomlTypeName(elem));
            return std::nullopt;
          }
          out.push_back(s->get());
        }
        return FieldValue{std::move(out)};
      }
      break;
  }
  why = fmt::format("expected {}, got {}", fieldTypeName(type), tomlTypeName(node));
  return std::nullopt;
}

FieldValue parseDefault(const FieldSpec& spec) {
  const std::string text(spec.default_value);
  switch (spec.type) {
    case FieldType::String:
      return text;
    case FieldType::Integer:
      return static_cast<int64_t>(std::stoll(text));
    case FieldType::Float:
      return std::stod(text);
    case FieldType::Bool:
      return text == "true";
    case FieldType::Duration:
      return parseDuration(text).value();
    case FieldType::StringArray:
      return std::vector<std::string>{text};
  }
  return std::monostate{};
}

}  // namespace

Fields readFields(const toml::table& table, std::span<const FieldSpec> spec, const std::string& file,
                  const std::string& context) {
  Fields fields;
  fields.context_ = context;
  fields.table_pos_ = positionOf(table, file);
  for (auto&& [key, node] : table) {
    const FieldSpec* field = nullptr;
    for (const auto& f : spec)
      if (f.key == key.str()) field = &f;
    SourcePos pos = positionOf(node, file);
    if (key.source().begin.line != 0) pos = SourcePos{file, key.source().begin.line, key.source().begin.column};
    if (!field) {
      std::string known;
      for (const auto& f : spec) known += (known.empty() ? "" : ", ") + std::string(f.key);
      throw ConfigError(pos, fmt::format("unknown key '{}' in {} (known keys: {})", key.str(), context, known));
    }
    std::string why;
    auto value = convert(node, field->type, why);
    if (!value) throw ConfigError(pos, fmt::format("key '{}' in {}: {}", key.str(), context, why));
    fields.values_[std::string(key.str())] = std::move(*value);
    fields.positions_[std::string(key.str())] = pos;
  }
  for (const auto& f : spec) {
    if (fields.values_.count(f.key)) continue;
    if (f.required)
      throw ConfigError(fields.table_pos_,
                        fmt::format("missing required key '{}' ({}) in {}", f.key, fieldTypeName(f.type), context));
    fields.values_[std::string(f.key)] = f.default_value.empty() ? FieldValue{} : parseDefault(f);
  }
  return fields;
}

const FieldValue& Fields::get(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error(fmt::format("field '{}' is not in the spec of {}", key, context_));
  return it->second;
}

bool Fields::has(std::string_view key) const {
  auto it = values_.find(key);
  return it != values_.end() && !std::holds_alternative<std::monostate>(it->second);
}

std::string Fields::str(std::string_view key) const { return std::get<std::string>(get(key)); }
std::optional<std::string> Fields::optStr(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return str(key);
}
int64_t Fields::integer(std::string_view key) const { return std::get<int64_t>(get(key)); }
std::optional<int64_t> Fields::optInteger(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return integer(key);
}
double Fields::number(std::string_view key) const { return std::get<double>(get(key)); }
std::optional<double> Fields::optNumber(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return number(key);
}
bool Fields::boolean(std::string_view key) const { return std::get<bool>(get(key)); }
std::chrono::milliseconds Fields::duration(std::string_view key) const {
  return std::get<std::chrono::milliseconds>(get(key));
}
std::optional<std::chrono::milliseconds> Fields::optDuration(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return duration(key);
}
std::vector<std::string> Fields::strings(std::string_view key) const {
  if (!has(key)) return {};
  return std::get<std::vector<std::string>>(get(key));
}

SourcePos Fields::where(std::string_view key) const {
  auto it = positions_.find(key);
  return it == positions_.end() ? table_pos_ : it->second;
}

void Fields::fail(std::string_view key, const std::string& message) const {
  throw ConfigError(where(key), fmt::format("key '{}' in {}: {}", key, context_, message));
}

toml::table parseText(std::string_view text, const std::string& name) {
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw ConfigError(SourcePos{name, src.begin.line, src.begin.column},
                      fmt::format("invalid TOML: {}", e.description()));
  }
}

toml::table parseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open configuration file", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parseText(text, path);
}

void rejectUnknownKeys(const toml::table& table, std::span<const std::string_view> allowed, const std::string& file,
                       const std::string& context) {
  for (auto&& [key, node] : table) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == key.str();
    if (ok) continue;
    std::string known;
    for (auto a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
    SourcePos pos{file, key.source().begin.line, key.source().begin.column};
    if (pos.line == 0) pos = positionOf(node, file);
    throw ConfigError(pos, fmt::format("unknown key '{}' in {} (known: {})", key.str(), context, known));
  }
}

std::string describeFields(std::span<const FieldSpec> spec) {
  size_t key_w = 3, type_w = 4, def_w = 7;
  for (const auto& f : spec) {
    key_w = std::max(key_w, f.key.size());
    type_w = std::max(type_w, fieldTypeName(f.type).size());
    def_w = std::max(def_w, f.required ? size_t{8} : f.default_value.size());
  }
  std::string out =
      fmt::format("  {:<{}}  {:<{}}  {:<{}}  {}\n", "KEY", key_w, "TYPE", type_w, "DEFAULT", def_w, "DESCRIPTION");
  for (const auto& f : spec) {
    std::string def = f.required ? "required" : (f.default_value.empty() ? "-" : std::string(f.default_value));
    out += fmt::format("  {:<{}}  {:<{}}  {:<{}}  {}\n", f.key, key_w, fieldTypeName(f.type), type_w, def, def_w,
                       f.description);
  }
  return out;
}

void requireReadableFile(const Fields& fields, std::string_view key) {
  if (!fields.has(key)) return;
  const std::string path = fields.str(key);
  if (::access(path.c_str(), R_OK) != 0) fields.fail(key, fmt::format("cannot read file '{}'", path));
}

}  // namespace hale::config
