// A process that stops and resumes (SIGSTOP / SIGCONT) in simulation. A `Freezer` stands for
// one process: while frozen, every task of it that comes due (its timers, its posts, what the
// network delivers to it, the calls a client makes on it) is held; `thaw` runs the held tasks
// in the order they came due, as a resumed process works through its expired timers and the
// bytes queued on its sockets. `FreezableScheduler` is the process's Scheduler: the base's
// time (a frozen process's clock keeps running), tasks through the freezer. `kill` (SIGKILL):
// the held tasks and every later one are dropped unrun, so nothing of the dead process runs
// again; a restarted process is a new Freezer.
#pragma once

#include <deque>
#include <memory>
#include <utility>

#include "common/core/scheduler.h"

namespace drsim::sim {

enum class Frozen { kNo, kYes, kDead };

class Freezer {
 public:
  using Task = drsim::Task;

  // Runs `task` now, or holds it while frozen. `id` lets the process cancel a held timer.
  void run(Task task, TimerId id = 0) {
    if (state_ == Frozen::kNo) {
      task();
      return;
    }
    if (state_ == Frozen::kDead) return;
    held_.push_back({id, std::move(task)});
  }
  void freeze() { state_ = Frozen::kYes; }
  // The process is gone: what it held and everything that comes due for it later is dropped.
  void kill() {
    state_ = Frozen::kDead;
    held_.clear();
  }
  // Runs what was held, oldest first (including what those tasks hold or post meanwhile: the
  // process is running again, so nothing new is held).
  void thaw() {
    if (state_ == Frozen::kDead) return;
    state_ = Frozen::kNo;
    while (!held_.empty()) {
      Task task = std::move(held_.front().task);
      held_.pop_front();
      task();
    }
  }
  Frozen state() const { return state_; }
  size_t held() const { return held_.size(); }
  // A held timer cancelled before the process ran it: dropped.
  bool cancel_held(TimerId id) {
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if (id != 0 && it->id == id) {
        held_.erase(it);
        return true;
      }
    }
    return false;
  }

 private:
  struct Held {
    TimerId id;
    Task task;
  };
  Frozen state_ = Frozen::kNo;
  std::deque<Held> held_;
};

class FreezableScheduler final : public Scheduler {
 public:
  FreezableScheduler(Scheduler& base, Freezer& freezer) : base_(base), freezer_(freezer) {}

  Time now() const override { return base_.now(); }
  int64_t wall_unix_nanos() const override { return base_.wall_unix_nanos(); }
  void post(Task task) override {
    base_.post([f = &freezer_, task = std::move(task)]() mutable { f->run(std::move(task)); });
  }
  TimerId schedule_at(Time at, Task task) override {
    auto id = std::make_shared<TimerId>(0);
    *id = base_.schedule_at(at, [f = &freezer_, id, task = std::move(task)]() mutable {
      f->run(std::move(task), *id);
    });
    return *id;
  }
  bool cancel(TimerId id) override { return base_.cancel(id) || freezer_.cancel_held(id); }

 private:
  Scheduler& base_;
  Freezer& freezer_;
};

}  // namespace drsim::sim
