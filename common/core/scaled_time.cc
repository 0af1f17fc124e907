#include "common/core/scaled_time.h"

#include <cmath>
#include <string>

#include "common/core/check.h"

namespace drsim {

namespace {
Status check_scale(double scale) {
  if (!std::isfinite(scale) || scale < kMinTimeScale || scale > kMaxTimeScale) {
    return invalid_argument("time_scale: " + std::to_string(scale) +
                            " must be 1..10000000 simulated seconds per real second");
  }
  return Status::ok();
}
}  // namespace

ScaledTime::ScaledTime(Time sim_start, Time real_now, double scale)
    : sim_anchor_(sim_start), real_anchor_(real_now), scale_(scale) {
  DRSIM_CHECK(check_scale(scale).is_ok());
}

Time ScaledTime::now(Time real_now) const {
  const double elapsed = static_cast<double>((real_now - real_anchor_).count()) * scale_;
  return sim_anchor_ + Duration(static_cast<Duration::rep>(elapsed));
}

Status ScaledTime::set_scale(double scale, Time real_now) {
  if (Status s = check_scale(scale); !s.is_ok()) return s;
  sim_anchor_ = now(real_now);
  real_anchor_ = real_now;
  scale_ = scale;
  return Status::ok();
}

Status ScaledTime::advance(Duration by, Time real_now) {
  if (by < Duration::zero() || by > kMaxClockAdvance) {
    return invalid_argument("advance: " + std::to_string(by.count()) +
                            " ns must be 0 to 10 years; the backup clock never goes back");
  }
  sim_anchor_ = now(real_now) + by;
  real_anchor_ = real_now;
  return Status::ok();
}

Duration ScaledTime::real_delay_until(Time sim_deadline, Time real_now) const {
  if (sim_deadline == kNever) return Duration::max();
  const Time sim_now = now(real_now);
  if (sim_deadline <= sim_now) return Duration::zero();
  const double real = static_cast<double>((sim_deadline - sim_now).count()) / scale_;
  // Round up so the timer never fires just before the deadline.
  return Duration(static_cast<Duration::rep>(std::ceil(real)));
}

}  // namespace drsim
