// `hale-aggregator backup FILE` and `restore FILE`: the aggregator's SQLite
// database through SQLite's online backup API. A backup is safe while the
// aggregator runs; a restore wants it stopped, and refuses while its HTTP
// port is in use.
#include "aggregator/cli/cli.h"
#include "aggregator/core/aggregator_config.h"
#include "aggregator/storage/sqlite/backup.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace hale::aggregator::cli {
namespace {
struct Parsed {
  std::string config = "/etc/hale/aggregator.toml";
  std::string file;
};

std::optional<Parsed> parse(const std::vector<std::string>& args) {
  Parsed p;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size())
      p.config = args[++i];
    else if (p.file.empty() && !args[i].empty() && args[i][0] != '-')
      p.file = args[i];
    else
      return std::nullopt;
  }
  if (p.file.empty()) return std::nullopt;
  return p;
}

bool portInUse(const std::string& address, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool busy = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return busy;
}
}  // namespace

std::string damagedDatabaseMessage(const std::string& database, const std::string& detail, const std::string& config) {
  return fmt::format(
      "hale-aggregator: the database {0} is damaged: {1}\n"
      "It holds the fleet's history, so the aggregator does not start on it. To restore the last\n"
      "backup made by `hale-aggregator backup`:\n"
      "  1. keep the aggregator stopped (systemd: systemctl stop hale-aggregator)\n"
      "  2. hale-aggregator restore --config {2} BACKUP.db\n"
      "     (this moves {0} aside to {0}.damaged-<time>, kept for inspection,\n"
      "     and copies the backup, integrity-checked, in its place)\n"
      "  3. start the aggregator again (systemd: systemctl start hale-aggregator)\n"
      "With no backup, moving {0} and its -wal and -shm files aside starts an empty database:\n"
      "the history is lost, agents report their current state again.\n",
      database, detail, config);
}

int cmdBackup(const std::vector<std::string>& args) {
  const auto p = parse(args);
  if (!p) {
    fmt::print(stderr, "usage: hale-aggregator backup [--config FILE] BACKUP.db\n");
    return kExitUsage;
  }
  try {
    const auto cfg = loadAggregatorConfig(p->config);
    if (std::filesystem::exists(p->file)) {
      fmt::print(stderr, "{} exists; refusing to overwrite a backup\n", p->file);
      return kExitFailure;
    }
    const auto start = std::chrono::steady_clock::now();
    storage::sqlite::backupTo(cfg.database, p->file);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    fmt::print("backed up {} to {} ({} bytes, {} ms, integrity ok)\n", cfg.database, p->file,
               std::filesystem::file_size(p->file), ms.count());
    return kExitOk;
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    fmt::print(stderr, "backup failed: {}\n", e.what());
    return kExitFailure;
  }
}

int cmdRestore(const std::vector<std::string>& args) {
  const auto p = parse(args);
  if (!p) {
    fmt::print(stderr, "usage: hale-aggregator restore [--config FILE] BACKUP.db\n");
    return kExitUsage;
  }
  try {
    const auto cfg = loadAggregatorConfig(p->config);
    if (!std::filesystem::exists(p->file)) {
      fmt::print(stderr, "no backup at {}\n", p->file);
      return kExitFailure;
    }
    if (portInUse(cfg.http_address, cfg.http_port)) {
      fmt::print(stderr, "the aggregator seems to be running ({}:{} answers); stop it before restoring\n",
                 cfg.http_address, cfg.http_port);
      return kExitFailure;
    }
    const auto restored = storage::sqlite::restoreFrom(p->file, cfg.database);
    if (!restored.set_aside.empty())
      fmt::print("the damaged database was moved to {} (kept for inspection)\n", restored.set_aside);
    fmt::print("restored {} from {}\n", cfg.database, p->file);
    return kExitOk;
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    fmt::print(stderr, "restore failed: {}\n", e.what());
    return kExitFailure;
  }
}

}  // namespace hale::aggregator::cli
