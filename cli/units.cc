#include "cli/units.h"

#include <cctype>

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

Result<Duration> parse_duration_text(const std::string& flag, const std::string& text) {
  if (text.empty()) return invalid_argument(flag + ": empty duration (e.g. 5m, 1h30m, 15d)");
  // In nanoseconds, every step checked: a sum past kMaxDurationNanos is refused, never wrapped
  // (a wrapped 999999999d once passed `--duration`'s "at most 1h").
  const auto too_large = [&] {
    return invalid_argument(flag + ": '" + text + "' is too large (at most 100 years)");
  };
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > 1'000'000'000) return too_large();
      n = n * 10 + (text[i++] - '0');
    }
    if (i == start) {
      return invalid_argument(flag + ": '" + text + "' is not a duration like 5m, 1h30m, 15d");
    }
    size_t u = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(u, i - u);
    int64_t per = unit == "ms"  ? 1'000'000
                  : unit == "s" ? 1'000'000'000
                  : unit == "m" ? 60'000'000'000
                  : unit == "h" ? 3'600'000'000'000
                  : unit == "d" ? 86'400'000'000'000
                                : 0;
    if (per == 0) {
      return invalid_argument(flag + ": unit '" + unit + "' in '" + text +
                              "' is not one of ms, s, m, h, d");
    }
    int64_t part = 0;
    if (__builtin_mul_overflow(n, per, &part) || __builtin_add_overflow(total, part, &total) ||
        total > kMaxDurationNanos) {
      return too_large();
    }
  }
  return Duration(total);
}

Result<uint64_t> parse_size_text(const std::string& flag, const std::string& text) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > (1ull << 40)) return invalid_argument(flag + ": '" + text + "' is too large");
    n = n * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  if (i == 0) return invalid_argument(flag + ": '" + text + "' is not a size like 30G or 512M");
  std::string unit = text.substr(i);
  int shift = unit.empty() || unit == "B"    ? 0
              : unit == "K" || unit == "KiB" ? 10
              : unit == "M" || unit == "MiB" ? 20
              : unit == "G" || unit == "GiB" ? 30
              : unit == "T" || unit == "TiB" ? 40
                                             : -1;
  if (shift < 0) {
    return invalid_argument(flag + ": unit '" + unit + "' in '" + text +
                            "' is not one of B, K, M, G, T");
  }
  // Refused rather than wrapped (10000000000000T once came back as a small size).
  if (n > (~uint64_t{0} >> shift)) return invalid_argument(flag + ": '" + text + "' is too large");
  return n << shift;
}

}  // namespace drsim::cli
