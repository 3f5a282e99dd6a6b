#include "aggregator/cli/cli.h"

int main(int argc, char** argv) { return hale::aggregator::cli::main({argv + 1, argv + argc}); }
