#include "agent/cli/cli.h"

int main(int argc, char** argv) { return hale::agent::cli::main({argv + 1, argv + argc}); }
