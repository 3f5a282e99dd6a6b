#!/usr/bin/env bash
# Writes a synthetic CI log of about SIZE_MB megabytes to stdout: compiler and
# test-runner chatter, npm/pip downloads, stack traces, ANSI colours, UTF-8,
# some CRLF lines, a rare transient failure, and a real failure at the end.
#   usage: bench/gen_build_log.sh [SIZE_MB] > build.log
set -euo pipefail
size_mb="${1:-220}"
LC_ALL=C awk -v limit="$((size_mb * 1024 * 1024))" 'BEGIN {
  srand(42); bytes = 0; n = 0
  while (bytes < limit) {
    n++; r = int(rand() * 100); t = sprintf("2024-05-01T12:%02d:%02d.%03dZ", (n / 6000) % 60, (n / 100) % 60, n % 1000)
    if (r < 18)      line = sprintf("%s [INFO] Compiling module core_%d (%d/%d)", t, n % 977, n % 400, 400)
    else if (r < 30) line = sprintf("  CC       src/lib/part_%d/file_%d.o", n % 61, n % 1013)
    else if (r < 38) line = sprintf("npm WARN deprecated pkg-%d@1.%d.%d: this version is no longer supported", n % 311, n % 9, n % 17)
    else if (r < 48) line = sprintf(" PASS  src/components/widget_%d.test.ts (%d.%d s)", n % 523, n % 7, n % 10)
    else if (r < 56) line = sprintf("--- PASS: TestHandler%d (0.%02ds)", n % 877, n % 100)
    else if (r < 63) line = sprintf("\033[32m\342\234\223\033[0m renders item %d correctly (%d ms)", n % 1000, n % 50)
    else if (r < 71) line = sprintf("Downloading https://registry.example.org/pkg-%d/-/pkg-%d-1.0.%d.tgz (%d kB)", n % 733, n % 733, n % 20, n % 900)
    else if (r < 76) line = sprintf("warning: unused variable `tmp%d` [-Wunused-variable]", n % 97)
    else if (r < 84) line = sprintf("    at com.acme.service.Handler%d.process(Handler%d.java:%d)", n % 41, n % 41, n % 700)
    else if (r < 88) line = sprintf("Collecting package_%d>=2.%d (from -r requirements.txt (line %d))\r", n % 211, n % 9, n % 80)
    else if (r < 94) line = sprintf("[%6d/%6d] Linking CXX static library lib/libmod%d.a", n % 100000, 100000, n % 300)
    else             line = sprintf("%s debug: cache hit ratio %d.%d%% for shard %d of %d", t, n % 100, n % 10, n % 16, 16)
    if (n % 50000 == 0) line = "npm ERR! code ECONNRESET"
    print line; bytes += length(line) + 1
  }
  print "src/engine/core.cpp:412:17: error: no matching function for call to \047resolve(int)\047"
  print "make[2]: *** [CMakeFiles/core.dir/build.make:90: engine/core.cpp.o] Error 1"
}'
