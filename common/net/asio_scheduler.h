// Scheduler under real time on one boost::asio::io_context: one steady_timer
// kept armed at the head of the shared TaskQueue. One per process, built in `main`. Timers
// from the loop thread only; post() from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/core/scheduler.h"

namespace drsim::net {

class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io) : io_(io), timer_(io) {}

  Time now() const override { return clock_.now(); }
  int64_t wall_unix_nanos() const override { return clock_.wall_unix_nanos(); }
  void post(Task task) override;
  TimerId schedule_at(Time at, Task task) override;
  bool cancel(TimerId id) override;
  boost::asio::io_context& io() { return io_; }

 private:
  void rearm();
  void on_timer();

  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  RealClock clock_;
  TaskQueue queue_;
  Time armed_for_ = kNever;
};

}  // namespace drsim::net
