// Time vocabulary for drsim: one monotonic instant type shared by the real
// clock and the simulated one, and wall time kept apart for reports and logs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace drsim {

using Duration = std::chrono::nanoseconds;
// Monotonic instant. Real drivers read it from steady_clock; simulated ones
// start at zero and jump from deadline to deadline.
using Time = std::chrono::time_point<std::chrono::steady_clock, Duration>;

inline constexpr Time kTimeZero{};
inline constexpr Time kNever = Time::max();

// Wall-clock time for people (reports, history files): nanoseconds since the
// Unix epoch. Never used for intervals.
// A drill can skew one daemon's wall clock (`drsim inject clock-skew`): every timestamp the
// process reports moves by this offset. Process-wide on purpose — a real host's clock is.
inline std::atomic<int64_t>& wall_clock_offset_nanos() {
  static std::atomic<int64_t> offset{0};
  return offset;
}

inline int64_t wall_now_unix_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         wall_clock_offset_nanos().load(std::memory_order_relaxed);
}

inline double to_ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace drsim
