// Time vocabulary for drsim: one monotonic instant type shared by the real
// clock and the simulated one, and wall time kept apart for reports and logs.
#pragma once

#include <chrono>
#include <cstdint>

namespace drsim {

using Duration = std::chrono::nanoseconds;
// Monotonic instant. Real drivers read it from steady_clock; simulated ones
// start at zero and jump from deadline to deadline.
using Time = std::chrono::time_point<std::chrono::steady_clock, Duration>;

inline constexpr Time kTimeZero{};
inline constexpr Time kNever = Time::max();

// Wall-clock time for people (reports, history files): nanoseconds since the Unix epoch, read
// from the system clock. Never used for intervals. For the CLI and tests, which run on real
// time; a driver reads the Clock its process injected (clock.h), which a drill can skew.
inline int64_t wall_now_unix_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline double to_ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
// Whole milliseconds (truncated), for messages and the protos' *_ms fields.
inline int64_t whole_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace drsim
