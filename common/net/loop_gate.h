// LoopGate: how gRPC reactor threads hand work to a process's event loop when the reactor may
// outlive the loop. A reactor keeps a shared_ptr to the gate and posts through it; the process
// closes the gate once its loop has stopped (before the io_context is destroyed), after which
// posts are refused and the reactor cleans up by itself instead of touching freed memory.
// (ASan saw a client stream's OnDone post into a destroyed io_context at daemon shutdown.)
//
// The gate also counts the outgoing calls whose state is alive (make_call, track_call). A
// ClientContext holds a reference to its channel, so the state of a call that completes after
// the process dropped its stubs is what destroys the channel — on a gRPC callback thread, where
// gRPC 1.51 then joins that thread from itself and frees its callback completion queue twice
// (ASan, issue 17). A stopping process waits for the count to reach zero (wait_for_calls) while
// its loop still runs, then stops the loop, closes the gate and destroys its stubs, so the last
// reference is always its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace drsim::net {

class LoopGate : public std::enable_shared_from_this<LoopGate> {
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

  // One outgoing call in flight until the returned token is destroyed: a reactor holds it as a
  // member declared before its ClientContext (so it is released after the context). `what`
  // names the call in wait_for_calls' answer. The gate must be owned by a shared_ptr.
  std::shared_ptr<void> track_call(std::string what) {
    {
      std::lock_guard lock(mu_);
      ++calls_[what];
    }
    return std::shared_ptr<void>(nullptr, [self = shared_from_this(), what](void*) {
      {
        std::lock_guard lock(self->mu_);
        if (--self->calls_[what] == 0) self->calls_.erase(what);
      }
      self->calls_done_.notify_all();
    });
  }

  // A unary call's state (ClientContext, request, response), counted until it is destroyed.
  template <typename Call>
  std::shared_ptr<Call> make_call(std::string what) {
    auto token = track_call(std::move(what));
    return std::shared_ptr<Call>(new Call(), [token = std::move(token)](Call* call) mutable {
      delete call;
      token.reset();  // after the ClientContext is gone
    });
  }

  // Until no tracked call is alive, at most `timeout`: empty, or what is still alive ("lease
  // renewal x1, ..."). Not on the loop thread while calls' answers are still to be posted to
  // it (they would wait for the loop).
  std::string wait_for_calls(std::chrono::steady_clock::duration timeout) {
    std::unique_lock lock(mu_);
    calls_done_.wait_for(lock, timeout, [&] { return calls_.empty(); });
    std::string left;
    for (const auto& [what, n] : calls_) {
      left += (left.empty() ? "" : ", ") + what + " x" + std::to_string(n);
    }
    return left;
  }

 private:
  std::mutex mu_;
  std::condition_variable calls_done_;
  boost::asio::io_context* io_;
  std::map<std::string, size_t> calls_;  // what -> how many alive
};

}  // namespace drsim::net
