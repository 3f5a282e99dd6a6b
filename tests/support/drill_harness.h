#pragma once
// A drill's configuration in a temporary directory, run in this process
// (runDrill) or through `hale-agent drill`.
#include "agent/core/drill_session.h"
#include "tests/support/harness.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace hale::test {

struct DrillFixture {
  TempDir dir;
  std::string config = dir.file("agent.toml");

  void write(const std::string& checks) {
    writeFile(config, fmt::format("[agent]\nregion = \"r\"\nnode = \"n\"\nstate_dir = \"{}\"\n"
                                  "[remediation]\nbackoff_initial = \"50ms\"\n\n{}",
                                  dir.file("state"), checks));
  }
  agent::DrillReport drill(const std::string& check) {
    agent::DrillOptions opts;
    opts.timeout = std::chrono::seconds(10);
    opts.quiet_logs = true;
    return agent::runDrill(config, check, opts);
  }
  int cli(std::vector<std::string> args) {
    args.insert(args.begin(), {binaryDir() + "/hale-agent", "drill"});
    args.insert(args.end(), {"--config", config});
    return runCommand(args, dir.file("out.txt"));
  }
  std::string out() { return readFile(dir.file("out.txt")); }
};

}  // namespace hale::test
