// Stand-alone driver for the build commands (benchmarks and the corpus
// evaluation): `hale-build-driver diagnose ...` / `hale-build-driver exec ...`.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/build/diagnose_command.h"
#include "agent/build/exec_command.h"
#include "agent/build/knowledge_base.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "diagnose") return hale::agent::build::runDiagnoseCommand(args);
  if (command == "patterns" && args.size() == 1) {  // one RE2 pattern per line, for the grep baseline
    const auto kb = hale::agent::build::loadKnowledgeBase({args[0]});
    for (const auto& e : kb.entries())
      for (const auto& p : e.patterns) std::printf("%s\n", p.c_str());
    return 0;
  }
  if (command == "exec") return hale::agent::build::runExecCommand(args, nullptr);
  std::fprintf(stderr, "usage: hale-build-driver diagnose|exec ARGS... | patterns DIR...\n");
  return 2;
}
