#include "common/net/asio_scheduler.h"

#include <boost/asio/post.hpp>

namespace drsim::net {

TimerId AsioScheduler::schedule_at(Time at, Task task) {
  TimerId id = queue_.push(at, std::move(task));
  if (queue_.next_deadline() < armed_for_) rearm();
  return id;
}

bool AsioScheduler::cancel(TimerId id) { return queue_.cancel(id); }

void AsioScheduler::post(Task task) { boost::asio::post(io_, std::move(task)); }

void AsioScheduler::rearm() {
  armed_for_ = queue_.next_deadline();
  if (armed_for_ == kNever) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(std::chrono::steady_clock::time_point(armed_for_.time_since_epoch()));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    on_timer();
  });
}

void AsioScheduler::on_timer() {
  armed_for_ = kNever;
  Time now = clock_.now();
  // Run what is due now; tasks scheduled by these tasks for later wait.
  while (auto task = queue_.pop_due(now)) (*task)();
  rearm();
}

}  // namespace drsim::net
