#include "agent/cli/cli.h"

#include <malloc.h>

int main(int argc, char** argv) {
  // glibc gives each worker thread its own malloc arena; for a small daemon
  // whose workers allocate little (a TLS handshake, an HTTP response) that
  // retained memory is most of its private RSS. Two arenas are plenty.
  mallopt(M_ARENA_MAX, 2);
  return hale::agent::cli::main({argv + 1, argv + argc});
}
