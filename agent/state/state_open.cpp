#include "agent/state/state_open.h"

#include "shared/sqlite/database.h"
#include "shared/util/log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace hale::agent::state {
namespace fs = std::filesystem;
namespace {
constexpr std::string_view kDamagedInfix = ".damaged-";

/// Opens the file as the store will, and reads it: the schema (always) and every page (deep).
void probe(const std::string& path, bool deep_check) {
  sqlite::Database db(path);
  sqlite::Statement schema(db, "SELECT count(*) FROM sqlite_master");
  (void)schema.step();
  if (!deep_check) return;
  sqlite::Statement check(db, "PRAGMA quick_check");
  const std::string verdict = check.step() ? check.text(0) : "no answer";
  if (verdict != "ok") throw sqlite::SqliteError("quick_check: " + verdict, SQLITE_CORRUPT);
}

std::string utcStamp() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

/// Moves agent.db and its WAL aside under one name; the shared-memory index is rebuilt by SQLite.
std::string setAside(const std::string& path) {
  std::string aside = path + std::string(kDamagedInfix) + utcStamp();
  for (int n = 2; fs::exists(aside); ++n)
    aside = path + std::string(kDamagedInfix) + utcStamp() + "-" + std::to_string(n);
  fs::rename(path, aside);
  std::error_code ec;
  if (fs::exists(path + "-wal")) fs::rename(path + "-wal", aside + "-wal", ec);
  fs::remove(path + "-shm", ec);
  return aside;
}

/// Held while the state is checked and repaired: the daemon and a CLI command
/// starting together must not both move the file.
class DirLock {
 public:
  explicit DirLock(const std::string& dir)
      : fd_(::open((dir + "/agent.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_;
};
}  // namespace

std::pair<std::string, std::optional<StateReset>> prepareStateFile(const std::string& dir, SpaceReserve& reserve,
                                                                   bool deep_check) {
  fs::create_directories(dir);
  const std::string path = dir + "/agent.db";
  // SQLite needs room for its WAL and shared-memory index before the first write.
  if (reserve.held() && reserve.available() < reserve.bytes()) {
    reserve.release();
    log::warn("state", "file system of the state directory is full; space reserve given back", {{"dir", dir}});
  }
  DirLock lock(dir);
  for (int attempt = 0;; ++attempt) {
    try {
      probe(path, deep_check);
      return {path, std::nullopt};
    } catch (const sqlite::SqliteError& e) {
      if (sqlite::isDamaged(e.code())) {
        StateReset reset{setAside(path), e.what()};
        log::error("state", "agent.db is damaged: set aside, starting with fresh state",
                   {{"kept", reset.damaged_path}, {"error", reset.reason}});
        return {path, std::move(reset)};
      }
      if (attempt > 0 || !reserve.release()) throw;
      log::warn("state", "cannot open the state; space reserve given back", {{"error", e.what()}});
    }
  }
}

std::vector<std::string> damagedStateFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("agent.db" + std::string(kDamagedInfix)) && !name.ends_with("-wal"))
      out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hale::agent::state
