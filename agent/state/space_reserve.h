#pragma once
// A few hundred kilobytes of disk the agent keeps for itself next to its
// state. On most hosts the state lives on the root file system, the one most
// likely to fill up; when it does, every SQLite write fails and the agent
// could no longer open the very issue whose plan would free the space. So
// the agent holds this file while there is room, gives it back to SQLite
// when a write fails for lack of space, and takes it again once the disk has
// room for it twice over.
#include "agent/platform/filesystem.h"

#include <cstdint>
#include <string>

namespace hale::agent::state {

class SpaceReserve {
 public:
  /// `path`: the reserve file (in the state directory); `bytes`: its size (0: no reserve).
  SpaceReserve(std::string path, uint64_t bytes, const platform::Filesystem& fs = platform::realFilesystem());

  /// Deletes the reserve file; true when there was one to give back.
  bool release();
  /// (Re)creates the reserve when the file system has room for twice its size;
  /// true when the reserve is held afterwards.
  bool take();
  bool held() const { return held_; }
  uint64_t bytes() const { return bytes_; }
  /// Bytes an unprivileged writer can still use on the reserve's file system (0 when unknown).
  uint64_t available() const;

 private:
  std::string path_;
  uint64_t bytes_;
  const platform::Filesystem& fs_;
  bool held_ = false;
};

}  // namespace hale::agent::state
