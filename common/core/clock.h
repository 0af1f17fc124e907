// Clock: the only seam through which drivers read time. Each process builds one in `main` and
// injects it (with the Scheduler, scheduler.h) into every driver; models never call it, they
// take `now` as an argument. Its faces:
//   now()             monotonic drsim::Time — intervals, deadlines, timers;
//   wall_unix_nanos() wall time for people (reports, history files, promoted-at stamps);
//   ScaledClock       drsim's scaled time over it, which Site Recovery and Backup run on.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/core/scaled_time.h"
#include "common/core/time.h"

namespace drsim {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
  virtual int64_t wall_unix_nanos() const = 0;
};

// steady_clock and system_clock: the only real time source of a daemon.
class RealClock final : public Clock {
 public:
  Time now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  int64_t wall_unix_nanos() const override { return wall_now_unix_nanos(); }
};

// Where the wall clock of a simulated process starts: 2026-01-01T00:00:00Z.
inline constexpr int64_t kSimWallStartUnixNanos = 1'767'225'600'000'000'000;

// A clock tests move by hand. Its wall clock runs with its monotonic one from `wall_at_start`.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Time start = kTimeZero, int64_t wall_at_start = kSimWallStartUnixNanos)
      : start_(start), now_(start), wall_at_start_(wall_at_start) {}
  Time now() const override { return now_; }
  int64_t wall_unix_nanos() const override {
    return wall_at_start_ + (now_ - start_).count();
  }
  void advance(Duration d) { now_ += d; }
  void set(Time t) { now_ = t; }

 private:
  Time start_;
  Time now_;
  int64_t wall_at_start_;
};

// A host whose wall clock is off (`drsim inject clock-skew`, through the region's admin RPC):
// wall time moves by the offset, monotonic time does not — a real host's CLOCK_MONOTONIC is not
// moved by setting the time either. One per process, decorating the process clock.
class SkewedClock final : public Clock {
 public:
  explicit SkewedClock(const Clock& base) : base_(base) {}
  Time now() const override { return base_.now(); }
  int64_t wall_unix_nanos() const override { return base_.wall_unix_nanos() + offset().count(); }

  Duration offset() const { return Duration(offset_nanos_.load(std::memory_order_relaxed)); }
  // Replaces the skew; returns the one it replaced.
  Duration set_offset(Duration offset) {
    return Duration(offset_nanos_.exchange(offset.count(), std::memory_order_relaxed));
  }

 private:
  const Clock& base_;
  // Read by gRPC threads (status answers) while the loop sets it.
  std::atomic<int64_t> offset_nanos_{0};
};

// drsim's scaled time read from a Clock: `scale` simulated seconds per real second from where
// it was started. Site Recovery (recovery points, pruning) and Backup (schedules, retention,
// soft delete) each hold one over the process clock, so with the same scale and start they
// agree on every instant. Loop thread only.
class ScaledClock {
 public:
  ScaledClock(const Clock& base, Time scaled_start, double scale)
      : base_(base), time_(scaled_start, base.now(), scale) {}

  Time now() const { return time_.now(base_.now()); }
  double scale() const { return time_.scale(); }
  // INVALID_ARGUMENT naming the field when out of range; the scaled time so far is kept.
  Status set_scale(double scale) { return time_.set_scale(scale, base_.now()); }
  // Jumps forward. INVALID_ARGUMENT when negative or above 10 years.
  Status advance(Duration by) { return time_.advance(by, base_.now()); }
  // Continues from `scaled_now` (a time restored from disk) at the same scale.
  void restart_at(Time scaled_now) { time_ = ScaledTime(scaled_now, base_.now(), time_.scale()); }
  // Base-clock time from now until the scaled clock reaches `deadline` (see ScaledTime).
  Duration base_delay_until(Time deadline) const {
    return time_.real_delay_until(deadline, base_.now());
  }
  const Clock& base() const { return base_; }

 private:
  const Clock& base_;
  ScaledTime time_;
};

}  // namespace drsim
