// A supervised child for tests and the restart benchmark: appends
// "<pid> <CLOCK_MONOTONIC ns>" to the file named by argv[1] as soon as it
// starts, then waits for a signal. With argv[2] = "exit", it exits 3 at once;
// with "zombie" it first forks a child that exits and is never reaped.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[64];
  const int n = std::snprintf(line, sizeof line, "%d %lld\n", static_cast<int>(getpid()),
                              static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  const int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, line, static_cast<size_t>(n)) != n) return 2;
  close(fd);
  if (argc > 2 && std::strcmp(argv[2], "exit") == 0) return 3;
  if (argc > 2 && std::strcmp(argv[2], "zombie") == 0 && fork() == 0) _exit(0);
  for (;;) pause();
}
