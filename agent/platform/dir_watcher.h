#pragma once
// Reports files that were completed in watched directories: closed after
// writing (IN_CLOSE_WRITE) or renamed in (IN_MOVED_TO). A file still being
// written is never reported half-done. inotify on Linux; a polling watcher
// (a file counts as complete once its size and mtime held still for one
// interval) for file systems without inotify, such as some network mounts.
#include <asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "shared/util/result.h"

namespace hale::agent::platform {

class DirWatcher {
 public:
  using Handler = std::function<void(const std::string& path)>;
  virtual ~DirWatcher() = default;
  /// Watches `dir` (not recursively). Files already there are not reported.
  virtual Status add(const std::string& dir) = 0;
  /// Starts reporting on the io_context's thread; `handler` gets full paths.
  virtual void start(Handler handler) = 0;
  virtual void stop() = 0;
};

/// inotify(7) through an asio stream_descriptor.
Result<std::unique_ptr<DirWatcher>> makeInotifyWatcher(asio::io_context& io);
/// Scans every `interval`.
std::unique_ptr<DirWatcher> makePollingWatcher(asio::io_context& io, std::chrono::milliseconds interval);

}  // namespace hale::agent::platform
