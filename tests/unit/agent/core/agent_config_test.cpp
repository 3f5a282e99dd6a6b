#include "agent/core/agent_config.h"

#include <doctest/doctest.h>

using namespace hale;

namespace {
std::string errorOf(const std::string& text) {
  try {
    (void)agent::loadAgentConfig(config::parseText(text, "agent.toml"), "agent.toml");
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("agent_config: a missing certificate file is named with its path and line") {
  const auto err = errorOf(
      "[agent]\nregion = \"eu\"\n[mqtt]\nurl = \"mqtts://localhost:8883\"\nca_file = \"/nonexistent/ca.crt\"\n"
      "cert_file = \"/nonexistent/n.crt\"\nkey_file = \"/nonexistent/n.key\"\n");
  CHECK(err.find("agent.toml:5:") == 0);
  CHECK(err.find("'/nonexistent/ca.crt'") != std::string::npos);
}

TEST_CASE("agent_config: mqtts without client certificate, unknown sections and bad values are refused") {
  CHECK(errorOf("[agent]\nregion = \"eu\"\n[mqtt]\nurl = \"mqtts://localhost:8883\"\n").find("mutual TLS") !=
        std::string::npos);
  CHECK(errorOf("[agent]\nregion = \"eu\"\n[mqtt]\nurl = \"http://x\"\n").find("mqtts://") != std::string::npos);
  CHECK(errorOf("[agent]\nregion = \"eu\"\n[agnet]\n").find("unknown key 'agnet'") != std::string::npos);
  CHECK(errorOf("[agent]\nregion = \"global\"\n").find("'region'") != std::string::npos);
  CHECK(errorOf("region = \"eu\"\n").find("unknown key 'region' in the top level") != std::string::npos);
  CHECK(errorOf("[log]\nlevel = \"loud\"\n[agent]\nregion = \"eu\"\n").find("expected one of debug") !=
        std::string::npos);
  CHECK(errorOf("[agent]\nregion = \"eu\"\n[[check]]\nname = \"a\"\nkind = \"disk\"\npath = \"/\"\n"
                "[[check]]\nname = \"a\"\nkind = \"disk\"\npath = \"/\"\n")
            .find("duplicate check name 'a'") != std::string::npos);
}

TEST_CASE("agent_config: a minimal file loads with defaults") {
  const auto cfg =
      agent::loadAgentConfig(config::parseText("[agent]\nregion = \"eu\"\nnode = \"n1\"\n", "a.toml"), "a.toml");
  CHECK(cfg.node == "n1");
  CHECK(cfg.state_dir == "/var/lib/hale");
  CHECK(cfg.heartbeat_interval == std::chrono::seconds(10));
  CHECK_FALSE(cfg.mqtt_enabled);
  CHECK(cfg.checks.empty());
}
