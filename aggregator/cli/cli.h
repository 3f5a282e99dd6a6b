#pragma once
#include <string>
#include <vector>

namespace hale::aggregator::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  ///< runtime failure
inline constexpr int kExitConfig = 2;   ///< invalid configuration
inline constexpr int kExitDamaged = 3;  ///< the database is damaged: restore a backup
inline constexpr int kExitUsage = 64;   ///< EX_USAGE

int cmdKeygen(const std::vector<std::string>& args);
int cmdCommand(const std::vector<std::string>& args);
int cmdBackup(const std::vector<std::string>& args);
int cmdRestore(const std::vector<std::string>& args);

/// What `run` prints when the database at `database` is damaged: the problem
/// and the exact commands that restore a backup (`config` is the --config path).
std::string damagedDatabaseMessage(const std::string& database, const std::string& detail, const std::string& config);

/// This program's manual page (roff), from the command table.
std::string manPage();
/// Entry point of `hale-aggregator`; args excludes argv[0].
int main(const std::vector<std::string>& args);

}  // namespace hale::aggregator::cli
