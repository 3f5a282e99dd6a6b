#pragma once
// Opening the agent's state directory so that the agent keeps watching the
// node whatever state it finds: a damaged agent.db (power loss, a full disk
// mid-write) is moved aside for inspection and a fresh one started, and a
// file system too full to open SQLite gets the agent's space reserve back.
#include "agent/state/space_reserve.h"

#include <optional>
#include <string>
#include <vector>

namespace hale::agent::state {

/// What happened to a damaged state file.
struct StateReset {
  std::string damaged_path;  ///< where the damaged agent.db now lies
  std::string reason;        ///< SQLite's error
};

/// Prepares `<dir>/agent.db` for opening: creates the directory, gives back
/// the reserve when the file system has less free space than the reserve,
/// and sets a damaged file aside (`deep_check`: run PRAGMA quick_check too,
/// which reads every page; the daemon does, short-lived commands do not).
/// Returns the database path and, when a file was set aside, what happened.
std::pair<std::string, std::optional<StateReset>> prepareStateFile(const std::string& dir, SpaceReserve& reserve,
                                                                   bool deep_check);

/// The damaged state files kept in `dir` (agent.db.damaged-*), oldest first.
std::vector<std::string> damagedStateFiles(const std::string& dir);

}  // namespace hale::agent::state
