#pragma once
// Recorded state of a file or directory tree (content hash, mode, owner) and
// the difference between two recordings: the basis of the `file` check's
// drift detection and of `hale-agent baseline`.
#include "shared/util/result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hale::agent::checks::baseline {

struct Entry {
  std::string path;    ///< relative to the root; "." for a single file
  std::string sha256;  ///< hex
  uint32_t mode = 0;   ///< permission bits (07777)
  uint32_t uid = 0;
};

/// Walks `root` (a file or a directory) without following symlinks; a
/// symlink is recorded by its target text's hash. More than `max_files` is an error.
Result<std::vector<Entry>> scan(const std::string& root, size_t max_files);

/// "sha256 mode uid path" per line (mode in octal; the path is last and may hold spaces).
std::string format(const std::vector<Entry>& entries);
/// Parses format(); errors name the line.
Result<std::vector<Entry>> parse(std::string_view text);

struct Drift {
  std::vector<std::string> added, removed, changed;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
Drift diff(const std::vector<Entry>& baseline, const std::vector<Entry>& current);

}  // namespace hale::agent::checks::baseline
