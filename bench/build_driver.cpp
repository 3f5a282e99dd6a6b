// Stand-alone driver for the build commands (benchmarks and the corpus
// evaluation): `hale-build-driver diagnose ...` / `hale-build-driver exec ...`.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/build/diagnose_command.h"
#include "agent/build/exec_command.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "diagnose") return hale::agent::build::runDiagnoseCommand(args);
  if (command == "exec") return hale::agent::build::runExecCommand(args, nullptr);
  std::fprintf(stderr, "usage: hale-build-driver diagnose|exec ARGS...\n");
  return 2;
}
