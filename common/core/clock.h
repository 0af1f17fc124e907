// The only seam through which drivers read time. Models never call it: they
// take `now` as an argument.
#pragma once

#include "common/core/time.h"

namespace drsim {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
};

class RealClock final : public Clock {
 public:
  Time now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
};

// A clock tests move by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Time start = kTimeZero) : now_(start) {}
  Time now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(Time t) { now_ = t; }

 private:
  Time now_;
};

}  // namespace drsim
