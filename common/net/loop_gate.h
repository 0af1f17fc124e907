// LoopGate: how gRPC reactor threads hand work to a process's event loop when the reactor may
// outlive the loop. A reactor keeps a shared_ptr to the gate and posts through it; the process
// closes the gate once its loop has stopped (before the io_context is destroyed), after which
// posts are refused and the reactor cleans up by itself instead of touching freed memory.
// (ASan saw a client stream's OnDone post into a destroyed io_context at daemon shutdown.)
#pragma once

#include <memory>
#include <mutex>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace drsim::net {

class LoopGate {
 public:
  explicit LoopGate(boost::asio::io_context& io) : io_(&io) {}

  // Queues fn on the loop; false (fn dropped, not run) once the gate is closed.
  template <typename Fn>
  bool post(Fn&& fn) {
    std::lock_guard lock(mu_);
    if (io_ == nullptr) return false;
    boost::asio::post(*io_, std::forward<Fn>(fn));
    return true;
  }

  // After this returns no post reaches the loop. Idempotent; any thread.
  void close() {
    std::lock_guard lock(mu_);
    io_ = nullptr;
  }

 private:
  std::mutex mu_;
  boost::asio::io_context* io_;
};

}  // namespace drsim::net
