#include "agent/platform/dir_watcher.h"

#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <vector>

namespace hale::agent::platform {
namespace fs = std::filesystem;
namespace {

// Writers that rename into place first write a hidden or suffixed temporary:
// only the final name is of interest.
bool temporaryName(std::string_view name) {
  return name.empty() || name[0] == '.' || name.back() == '~' || name.ends_with(".tmp") || name.ends_with(".part") ||
         name.ends_with(".swp");
}

class InotifyWatcher final : public DirWatcher {
 public:
  InotifyWatcher(asio::io_context& io, int fd) : fd_(fd), stream_(io, fd), buffer_(64 * 1024) {}
  ~InotifyWatcher() override { stop(); }

  Status add(const std::string& dir) override {
    const int wd = ::inotify_add_watch(fd_, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR);
    if (wd < 0) return makeError(fmt::format("cannot watch {}: {}", dir, std::strerror(errno)), errno);
    dirs_[wd] = dir;
    return {};
  }

  void start(Handler handler) override {
    handler_ = std::move(handler);
    read();
  }

  void stop() override {
    std::error_code ec;
    if (stream_.is_open()) stream_.close(ec);
  }

 private:
  void read() {
    stream_.async_read_some(asio::buffer(buffer_), [this](const std::error_code& ec, size_t n) {
      if (ec) return;  // closed by stop(), or the descriptor broke: nothing more will come
      dispatch(n);
      read();
    });
  }

  void dispatch(size_t n) {
    for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
      inotify_event ev;
      std::memcpy(&ev, buffer_.data() + at, sizeof ev);
      const char* name = buffer_.data() + at + sizeof ev;
      at += sizeof ev + ev.len;
      if (ev.len == 0 || (ev.mask & IN_ISDIR) || !(ev.mask & (IN_CLOSE_WRITE | IN_MOVED_TO))) continue;
      const std::string file(name, ::strnlen(name, ev.len));
      const auto dir = dirs_.find(ev.wd);
      if (dir == dirs_.end() || temporaryName(file)) continue;
      handler_((fs::path(dir->second) / file).string());
    }
  }

  int fd_;
  asio::posix::stream_descriptor stream_;  // owns fd_
  std::vector<char> buffer_;
  std::map<int, std::string> dirs_;
  Handler handler_;
};

class PollingWatcher final : public DirWatcher {
 public:
  PollingWatcher(asio::io_context& io, std::chrono::milliseconds interval) : timer_(io), interval_(interval) {}
  ~PollingWatcher() override { stop(); }

  Status add(const std::string& dir) override {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return makeError(fmt::format("cannot watch {}: not a directory", dir));
    dirs_.push_back(dir);
    scan(/*initial=*/true);
    return {};
  }

  void start(Handler handler) override {
    handler_ = std::move(handler);
    arm();
  }

  void stop() override { timer_.cancel(); }

 private:
  struct Seen {
    uintmax_t size = 0;
    fs::file_time_type mtime;
    bool reported = false;
  };

  void arm() {
    timer_.expires_after(interval_);
    timer_.async_wait([this](const std::error_code& ec) {
      if (ec) return;
      scan(false);
      arm();
    });
  }

  // A file is reported once it held still for a whole interval.
  void scan(bool initial) {
    std::map<std::string, Seen> now;
    for (const auto& dir : dirs_) {
      std::error_code ec;
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code e2;
        if (!it->is_regular_file(e2) || temporaryName(it->path().filename().string())) continue;
        Seen s{it->file_size(e2), it->last_write_time(e2), initial};
        if (e2) continue;
        const auto before = seen_.find(it->path().string());
        if (before != seen_.end() && before->second.size == s.size && before->second.mtime == s.mtime) {
          s.reported = before->second.reported;
          if (!s.reported && !initial) {
            s.reported = true;
            if (handler_) handler_(it->path().string());
          }
        }
        now[it->path().string()] = s;
      }
    }
    if (initial) {
      for (auto& [path, s] : now) seen_[path] = s;
    } else {
      seen_ = std::move(now);
    }
  }

  asio::steady_timer timer_;
  std::chrono::milliseconds interval_;
  std::vector<std::string> dirs_;
  std::map<std::string, Seen> seen_;
  Handler handler_;
};

}  // namespace

Result<std::unique_ptr<DirWatcher>> makeInotifyWatcher(asio::io_context& io) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return makeError(fmt::format("inotify_init1: {}", std::strerror(errno)), errno);
  return std::unique_ptr<DirWatcher>(std::make_unique<InotifyWatcher>(io, fd));
}

std::unique_ptr<DirWatcher> makePollingWatcher(asio::io_context& io, std::chrono::milliseconds interval) {
  return std::make_unique<PollingWatcher>(io, interval);
}

}  // namespace hale::agent::platform
