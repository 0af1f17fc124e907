// A host whose oscillator runs fast or slow (`drsim inject clock-drift`): the process's
// monotonic time runs at (1 + rate) of real time, and every timer fires when that drifted time
// reaches its deadline — what a real host with a bad crystal does to every interval it measures
// (lease expiry, the promoting side's wait, renewals, probes). Wall time moves with it.
//
// It decorates the process's Scheduler (built in main, injected into every driver in its
// place), so a lease measured on it drifts exactly as a timer armed on it does. The lease's
// bound on drift, ε (common/model/replication/lease.h), is what drift may not exceed between
// two processes; `model::drift_within_bound` says whether two rates keep it.
//
// Thread safety: now() and wall_unix_nanos() may be read from any thread (gRPC status answers);
// set_rate(), schedule_at() and cancel() from the loop thread, as the base requires.
#pragma once

#include <atomic>
#include <cmath>
#include <mutex>

#include "common/core/scheduler.h"

namespace drsim {

class DriftingScheduler final : public Scheduler {
 public:
  explicit DriftingScheduler(Scheduler& base) : base_(base) {}

  Time now() const override {
    if (!drifting_.load(std::memory_order_acquire)) return base_.now();
    std::lock_guard lock(mu_);
    return drifted(base_.now());
  }
  // The base's wall time plus what the drift has added to monotonic time so far.
  int64_t wall_unix_nanos() const override {
    if (!drifting_.load(std::memory_order_acquire)) return base_.wall_unix_nanos();
    std::lock_guard lock(mu_);
    Time base_now = base_.now();
    return base_.wall_unix_nanos() + (drifted(base_now) - base_now).count();
  }
  void post(Task task) override { base_.post(std::move(task)); }
  // Fires when drifted time reaches `at`. A timer armed before a rate change keeps the real
  // instant it was armed for (the change moves later timers only).
  TimerId schedule_at(Time at, Task task) override {
    if (!drifting_.load(std::memory_order_acquire)) return base_.schedule_at(at, std::move(task));
    Time base_at;
    {
      std::lock_guard lock(mu_);
      base_at = to_base(at);
    }
    return base_.schedule_at(base_at, std::move(task));
  }
  bool cancel(TimerId id) override { return base_.cancel(id); }

  // The drift rate: 0.02 runs 2 % fast, -0.02 2 % slow. Time stays continuous across the change.
  // Callers check the range (|rate| < 0.5).
  void set_rate(double rate) {
    std::lock_guard lock(mu_);
    Time base_now = base_.now();
    drift_anchor_ = drifted(base_now);
    base_anchor_ = base_now;
    rate_ = rate;
    drifting_.store(true, std::memory_order_release);  // once drifted, always anchored
  }
  double rate() const {
    std::lock_guard lock(mu_);
    return rate_;
  }

 private:
  // Both under mu_.
  Time drifted(Time base_now) const {
    if (!drifting_.load(std::memory_order_relaxed)) return base_now;
    double elapsed = static_cast<double>((base_now - base_anchor_).count());
    return drift_anchor_ + Duration(static_cast<int64_t>(std::llround(elapsed * (1.0 + rate_))));
  }
  Time to_base(Time at) const {
    double ahead = static_cast<double>((at - drift_anchor_).count());
    return base_anchor_ + Duration(static_cast<int64_t>(std::llround(ahead / (1.0 + rate_))));
  }

  Scheduler& base_;
  mutable std::mutex mu_;
  std::atomic<bool> drifting_{false};
  Time base_anchor_ = kTimeZero;
  Time drift_anchor_ = kTimeZero;
  double rate_ = 0.0;
};

}  // namespace drsim
