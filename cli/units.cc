#include "cli/units.h"

#include <fmt/format.h>

namespace drsim::cli {

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.1f} GiB", b / double(1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.1f} MiB", b / double(1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.1f} KiB", b / double(1ull << 10));
  return fmt::format("{} B", b);
}

std::string human_duration_ms(uint64_t ms) {
  constexpr uint64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute,
                     kDay = 24 * kHour;
  if (ms < kSecond) return fmt::format("{} ms", ms);
  if (ms < kMinute) return fmt::format("{:.1f} s", ms / 1000.0);
  if (ms < kHour) return fmt::format("{} min {:02} s", ms / kMinute, (ms % kMinute) / kSecond);
  if (ms < kDay) return fmt::format("{} h {:02} min", ms / kHour, (ms % kHour) / kMinute);
  return fmt::format("{} d {} h", ms / kDay, (ms % kDay) / kHour);
}

std::string human_amount(double v) {
  if (v > 0 && v < 0.005) return "<0.01";
  return fmt::format("{:.2f}", v);
}

}  // namespace drsim::cli
