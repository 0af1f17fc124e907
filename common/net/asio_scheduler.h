// Scheduler under real time on one boost::asio::io_context: one steady_timer
// kept armed at the head of the shared TaskQueue. Use from the loop thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/core/scheduler.h"

namespace drsim::net {

class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io) : io_(io), timer_(io) {}

  Time now() const override { return clock_.now(); }
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
