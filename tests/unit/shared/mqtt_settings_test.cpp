#include "shared/app/mqtt_settings.h"

#include <doctest/doctest.h>

using namespace hale;

namespace {
hale::mqtt::Options readSection(const std::string& body) {
  const auto root = config::parseText("[mqtt]\n" + body, "agent.toml");
  return app::readMqttOptions(*root["mqtt"].as_table(), "agent.toml");
}

std::string errorOf(const std::string& body) {
  try {
    (void)readSection(body);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("mqtt_settings: one url, or a list of brokers tried in order") {
  const auto one = readSection("url = \"mqtt://127.0.0.1:1883\"\n");
  CHECK(one.url == "mqtt://127.0.0.1:1883");
  CHECK(one.urls == std::vector<std::string>{"mqtt://127.0.0.1:1883"});
  const auto two = readSection("urls = [\"mqtt://a:1883\", \"mqtt://b:1883\"]\n");
  CHECK(two.url == "mqtt://a:1883");
  CHECK(two.urls == std::vector<std::string>{"mqtt://a:1883", "mqtt://b:1883"});
}

TEST_CASE("mqtt_settings: rejects both or neither of url and urls, bad schemes and mixed TLS, with the position") {
  CHECK(errorOf("url = \"mqtt://a:1\"\nurls = [\"mqtt://b:1\"]\n").find("give exactly one of url, urls") !=
        std::string::npos);
  CHECK(errorOf("keepalive = \"30s\"\n").find("give exactly one of url, urls") != std::string::npos);
  const auto scheme = errorOf("urls = [\"mqtt://a:1\", \"http://b:1\"]\n");
  CHECK(scheme.find("agent.toml:2:") == 0);
  CHECK(scheme.find("got 'http://b:1'") != std::string::npos);
  CHECK(errorOf("urls = []\n").find("at least one broker") != std::string::npos);
  CHECK(errorOf("urls = [\"mqtt://a:1\", \"mqtts://b:1\"]\nca_file = \"/etc/hostname\"\ncert_file = \"/etc/hostname\"\n"
                "key_file = \"/etc/hostname\"\n")
            .find("mix of mqtts:// and mqtt://") != std::string::npos);
}
