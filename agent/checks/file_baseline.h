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

/// Where content copies live: content-addressed by SHA-256 under the state dir,
/// so `restore` can put a drifted file back. <state_dir>/baseline/objects.
std::string objectsDir(const std::string& state_dir);

struct StoreStats {
  size_t stored = 0;   ///< copies written (or already present)
  size_t skipped = 0;  ///< files over the size bound, symlinks: no copy
};
/// Copies the content of every regular file of `entries` (relative to `root`)
/// no larger than `max_bytes` into `objects_dir`/<sha256>, each written to a
/// temporary file, fsynced and renamed; a copy whose hash changed while it was
/// read is not kept.
/// Writes `data` to a temporary file beside `path` with `mode` (and owner when
/// uid >= 0), fsyncs it and renames it over `path`, then fsyncs the directory.
Status writeAtomic(const std::string& path, std::string_view data, uint32_t mode, int64_t uid = -1, int64_t gid = -1);
/// Reads a stored copy and checks it still hashes to `sha256`; at most `max_bytes`.
Result<std::string> loadObject(const std::string& objects_dir, const std::string& sha256, uint64_t max_bytes);

Result<StoreStats> storeObjects(const std::string& root, const std::vector<Entry>& entries,
                                const std::string& objects_dir, uint64_t max_bytes);

}  // namespace hale::agent::checks::baseline
