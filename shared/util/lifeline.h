#pragma once
// A way back to an event loop for work running on other threads (a worker
// pool, a library's callback thread), on behalf of an object that lives on the
// loop and may be gone before the work ends: a reloaded scheduler, a client
// being destroyed. The owner cuts the line on the loop thread before it goes.
// After that a post is dropped, and a handler posted earlier finds the line cut
// when the loop gets to it, so it never touches its owner. The io_context
// itself is not touched once the line is cut either: a worker abandoned in a
// hung system call may come back after the loop is gone.
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <memory>
#include <mutex>
#include <utility>

namespace hale {

class Lifeline {
 public:
  explicit Lifeline(asio::io_context& io) : state_(std::make_shared<State>(io)) {}

  /// From any thread: runs `fn` on the loop if the line is still uncut when it gets there.
  /// Returns false (and drops `fn`) when the line is already cut.
  template <class Fn>
  bool post(Fn&& fn) const {
    std::lock_guard lock(state_->mutex);
    if (!state_->io) return false;
    asio::post(*state_->io, [state = state_, fn = std::forward<Fn>(fn)]() mutable {
      if (state->alive()) fn();
    });
    return true;
  }

  /// From any thread.
  bool alive() const { return state_->alive(); }

  /// On the loop thread, before the owner goes. Waits for a post in progress on another thread.
  void cut() {
    std::lock_guard lock(state_->mutex);
    state_->io = nullptr;
  }

 private:
  struct State {
    explicit State(asio::io_context& loop) : io(&loop) {}
    bool alive() {
      std::lock_guard lock(mutex);
      return io != nullptr;
    }
    std::mutex mutex;
    asio::io_context* io;
  };
  std::shared_ptr<State> state_;
};

}  // namespace hale
