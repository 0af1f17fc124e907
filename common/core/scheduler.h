// Scheduler: the driver-side seam for timers. AsioScheduler (common/net) runs
// it under real time; SimScheduler below runs it on virtual time for tests.
#pragma once

#include <functional>

#include "common/core/clock.h"
#include "common/core/task_queue.h"

namespace drsim {

class Scheduler : public Clock {
 public:
  virtual TimerId schedule_at(Time at, Task task) = 0;
  virtual bool cancel(TimerId id) = 0;
  TimerId schedule_after(Duration d, Task task) { return schedule_at(now() + d, std::move(task)); }
};

// Virtual time: jumps straight to the next deadline. A test of a 30-second
// policy runs in microseconds, and the same seed replays the same order.
class SimScheduler final : public Scheduler {
 public:
  explicit SimScheduler(Time start = kTimeZero) : now_(start) {}

  Time now() const override { return now_; }
  TimerId schedule_at(Time at, Task task) override {
    return queue_.push(at < now_ ? now_ : at, std::move(task));
  }
  bool cancel(TimerId id) override { return queue_.cancel(id); }

  // Runs tasks until `pred` holds or no task is due before `limit`; returns pred().
  bool run_until(const std::function<bool()>& pred, Time limit = kNever) {
    while (!pred()) {
      Time next = queue_.next_deadline();
      if (next == kNever || next > limit) return pred();
      now_ = next;
      if (auto task = queue_.pop_due(now_)) (*task)();
    }
    return true;
  }
  void run_for(Duration d) {
    Time end = now_ + d;
    run_until([] { return false; }, end);
    now_ = end;
  }
  void run_until_idle() { run_until([] { return false; }); }
  size_t pending() const { return queue_.size(); }

 private:
  Time now_;
  TaskQueue queue_;
};

}  // namespace drsim
