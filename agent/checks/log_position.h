#pragma once
// Where a `log` check stopped reading, kept across agent restarts in
// <state_dir>/log-positions/<check>.pos: one line,
//   file <device> <inode> <offset> <skipping> <path>
//   journal <unit> <cursor>
// written to a temporary file, fsynced and renamed over the old one, so a
// crash leaves the previous position or the new one, never half of either.
// The path (or unit) is kept so that a check pointed elsewhere starts afresh.
#include "agent/platform/file_follower.h"
#include "shared/util/result.h"

#include <optional>
#include <string>
#include <string_view>

namespace hale::agent::checks {

struct LogPosition {
  std::string source;                            ///< the file's path or the unit
  std::optional<platform::FollowPosition> file;  ///< set for a file
  std::string cursor;                            ///< a journal cursor, for a unit
  bool operator==(const LogPosition& other) const;
};

std::string formatLogPosition(const LogPosition& position);
/// nullopt for anything malformed (the check then starts as on first run).
std::optional<LogPosition> parseLogPosition(std::string_view text);

/// <state_dir>/log-positions/<check>.pos
std::string logPositionFile(const std::string& state_dir, const std::string& check);
std::optional<LogPosition> loadLogPosition(const std::string& file);
/// Creates the directory when missing; atomic replace.
Status saveLogPosition(const std::string& file, const LogPosition& position);

}  // namespace hale::agent::checks
