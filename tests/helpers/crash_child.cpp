// A supervised child for tests and the restart benchmark: appends
// "<pid> <CLOCK_MONOTONIC ns>" to the file named by argv[1] as soon as it
// starts, then waits for a signal. With argv[2] = "exit", it exits 3 at once;
// with "zombie" it first forks a child that exits and is never reaped; with
// "hog" it allocates memory without end once it receives SIGUSR1 (OOM tests);
// with "pidfile PATH" it writes its pid to PATH (atomically) like a daemon.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
volatile std::sig_atomic_t hog = 0;
char* volatile sink = nullptr;  // the blocks escape: the allocation cannot be optimised away
void startHog(int) { hog = 1; }
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (argc > 2 && std::strcmp(argv[2], "hog") == 0) std::signal(SIGUSR1, startHog);  // before the log says "started"
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[64];
  const int n = std::snprintf(line, sizeof line, "%d %lld\n", static_cast<int>(getpid()),
                              static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  const int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, line, static_cast<size_t>(n)) != n) return 2;
  close(fd);
  if (argc > 2 && std::strcmp(argv[2], "exit") == 0) return 3;
  if (argc > 3 && std::strcmp(argv[2], "pidfile") == 0) {
    char tmp[4096];
    std::snprintf(tmp, sizeof tmp, "%s.tmp", argv[3]);
    const int pf = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int len = std::snprintf(line, sizeof line, "%d\n", static_cast<int>(getpid()));
    if (pf < 0 || write(pf, line, static_cast<size_t>(len)) != len || close(pf) != 0 || rename(tmp, argv[3]) != 0)
      return 2;
  }
  if (argc > 2 && std::strcmp(argv[2], "zombie") == 0 && fork() == 0) _exit(0);
  for (;;) {
    pause();
    while (hog) {
      auto* block = static_cast<char*>(std::malloc(1 << 20));
      if (block) std::memset(block, 1, 1 << 20);  // touched, so resident
      sink = block;
    }
  }
}
