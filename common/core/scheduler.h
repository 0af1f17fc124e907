// Scheduler and Executor: the driver-side seams for timers and for "run this on the loop".
// Each process builds one Scheduler in `main` and injects it into every driver; no driver
// builds its own. AsioScheduler (common/net) runs it under real time on the process's one
// io_context; SimScheduler below runs it on virtual time for tests and the simulator.
#pragma once

#include <functional>

#include "common/core/clock.h"
#include "common/core/task_queue.h"

namespace drsim {

// Runs a task on the loop thread, after the task running now. The Asio executor may be called
// from any thread (a gRPC reactor hands its answer to the loop through it); the simulated one
// only from the simulation's thread.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void post(Task task) = 0;
};

// Timers on the process clock: the Scheduler is the process's monotonic Clock too, so a
// deadline a driver computes from now() is the one its timer fires at.
class Scheduler : public Clock, public Executor {
 public:
  virtual TimerId schedule_at(Time at, Task task) = 0;
  // True when the task was still pending (it will not run).
  virtual bool cancel(TimerId id) = 0;
  TimerId schedule_after(Duration d, Task task) { return schedule_at(now() + d, std::move(task)); }
};

// Virtual time: jumps straight to the next deadline. A test of a 30-second
// policy runs in microseconds, and the same seed replays the same order.
class SimScheduler final : public Scheduler {
 public:
  explicit SimScheduler(Time start = kTimeZero, int64_t wall_at_start = kSimWallStartUnixNanos)
      : start_(start), now_(start), wall_at_start_(wall_at_start) {}

  Time now() const override { return now_; }
  int64_t wall_unix_nanos() const override { return wall_at_start_ + (now_ - start_).count(); }
  TimerId schedule_at(Time at, Task task) override {
    return queue_.push(at < now_ ? now_ : at, std::move(task));
  }
  bool cancel(TimerId id) override { return queue_.cancel(id); }
  void post(Task task) override { queue_.push(now_, std::move(task)); }

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
  Time start_;
  Time now_;
  int64_t wall_at_start_;
  TaskQueue queue_;
};

}  // namespace drsim
