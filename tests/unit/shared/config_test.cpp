#include "shared/config/config.h"

#include <doctest/doctest.h>

using namespace hale::config;

namespace {
constexpr FieldSpec kSpec[] = {
    {"path", FieldType::String, "", "a path", true}, {"limit", FieldType::Integer, "10", "a limit"},
    {"ratio", FieldType::Float, "0.5", "a ratio"},   {"every", FieldType::Duration, "10s", "a period"},
    {"on", FieldType::Bool, "true", "a switch"},     {"tags", FieldType::StringArray, "", "labels"},
};

Fields load(const std::string& text) {
  auto root = parseText(text, "test.toml");
  return readFields(*root["section"].as_table(), kSpec, "test.toml", "section");
}

std::string errorOf(const std::string& text) {
  try {
    (void)load(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config: a valid table loads with defaults filled in") {
  auto f = load("[section]\npath = \"/tmp\"\nratio = 2\nevery = \"1m30s\"\ntags = [\"a\", \"b\"]\n");
  CHECK(f.str("path") == "/tmp");
  CHECK(f.integer("limit") == 10);
  CHECK(f.number("ratio") == doctest::Approx(2.0));
  CHECK(f.duration("every") == std::chrono::seconds(90));
  CHECK(f.boolean("on"));
  CHECK(f.strings("tags") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("config: an unknown key is rejected with its name, line and column") {
  const auto err = errorOf("[section]\npath = \"/tmp\"\n  colour = 3\n");
  CHECK(err.find("test.toml:3:3:") == 0);
  CHECK(err.find("unknown key 'colour'") != std::string::npos);
  CHECK(err.find("known keys: path, limit") != std::string::npos);
}

TEST_CASE("config: a wrong type names the key, what was expected and what was found") {
  const auto err = errorOf("[section]\npath = \"/tmp\"\nlimit = \"ten\"\n");
  CHECK(err.find("test.toml:3:1:") == 0);
  CHECK(err.find("key 'limit'") != std::string::npos);
  CHECK(err.find("expected integer, got string") != std::string::npos);
}

TEST_CASE("config: a missing required key names the key and the table's line") {
  const auto err = errorOf("\n[section]\nlimit = 3\n");
  CHECK(err.find("test.toml:2:") == 0);
  CHECK(err.find("missing required key 'path'") != std::string::npos);
}

TEST_CASE("config: a malformed duration explains the accepted forms") {
  const auto err = errorOf("[section]\npath = \"x\"\nevery = \"soon\"\n");
  CHECK(err.find("expected a duration") != std::string::npos);
  CHECK(err.find("\"soon\"") != std::string::npos);
}

TEST_CASE("config: TOML syntax errors carry the position") {
  std::string err;
  try {
    (void)parseText("[section]\npath = \n", "bad.toml");
  } catch (const ConfigError& e) {
    err = e.what();
  }
  CHECK(err.find("bad.toml:2:") == 0);
  CHECK(err.find("invalid TOML") != std::string::npos);
}

TEST_CASE("config: durations parse and print") {
  CHECK(parseDuration("250ms") == std::chrono::milliseconds(250));
  CHECK(parseDuration("2h") == std::chrono::hours(2));
  CHECK(parseDuration("1d") == std::chrono::hours(24));
  CHECK_FALSE(parseDuration("").has_value());
  CHECK_FALSE(parseDuration("10").has_value());
  CHECK_FALSE(parseDuration("-1s").has_value());
  CHECK_FALSE(parseDuration("99999999999999999999s").has_value());
  CHECK(formatDuration(std::chrono::minutes(5)) == "5m");
  CHECK(formatDuration(std::chrono::milliseconds(1500)) == "1500ms");
}

TEST_CASE("config: describeFields lists every key with its default") {
  const auto text = describeFields(kSpec);
  CHECK(text.find("path") != std::string::npos);
  CHECK(text.find("required") != std::string::npos);
  CHECK(text.find("10s") != std::string::npos);
}
