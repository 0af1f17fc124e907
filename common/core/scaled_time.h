// ScaledTime: time that runs `scale` simulated seconds per real second from an anchor, so a
// drill lets days of backup schedules, retention, the 14-day soft delete and hours of recovery
// point pruning pass in seconds. Pure arithmetic: real time is passed in. ScaledClock
// (clock.h) reads it from the process Clock; model::BackupClock is this type.
#pragma once

#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim {

inline constexpr double kMinTimeScale = 1;
inline constexpr double kMaxTimeScale = 1e7;  // ~116 simulated days per real second
inline constexpr Duration kMaxClockAdvance = std::chrono::hours(24 * 3653);

class ScaledTime {
 public:
  // Simulated `sim_start` at real `real_now`, running `scale` times real time (checked valid).
  ScaledTime(Time sim_start, Time real_now, double scale = 1);

  Time now(Time real_now) const;
  double scale() const { return scale_; }

  // INVALID_ARGUMENT naming the field when out of range; the simulated time so far is kept.
  Status set_scale(double scale, Time real_now);
  // Jumps the simulated clock forward. INVALID_ARGUMENT when negative or above 10 years.
  Status advance(Duration by, Time real_now);

  // Real time from `real_now` until the simulated clock reaches `sim_deadline` (zero when it
  // has, Duration::max() for kNever).
  Duration real_delay_until(Time sim_deadline, Time real_now) const;

 private:
  Time sim_anchor_;
  Time real_anchor_;
  double scale_;
};

}  // namespace drsim
