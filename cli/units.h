// Human units: read from flags ("1h30m", "512M"), and written for text output (exact values
// stay in --json): sizes in binary units, durations in the largest units that keep them
// readable.
#pragma once

#include <cstdint>
#include <string>

#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::cli {

// The longest duration a flag takes: 100 years (a sum past it is refused, not wrapped).
inline constexpr int64_t kMaxDurationNanos = 100LL * 365 * 86'400'000'000'000;
// "1h30m", "15d", "250ms", "45s" → duration; INVALID_ARGUMENT naming `flag` (and "too large"
// beyond kMaxDurationNanos).
Result<Duration> parse_duration_text(const std::string& flag, const std::string& text);
// "128G", "512M", "1T", "4096" (bytes; binary units) → bytes.
Result<uint64_t> parse_size_text(const std::string& flag, const std::string& text);

// 512 B, 40.7 KiB, 1.2 MiB, 3.0 GiB.
std::string human_bytes(uint64_t bytes);
// 340 ms, 1.2 s, 11 min 22 s, 3 h 05 min, 2 d 4 h.
std::string human_duration_ms(uint64_t ms);
// A money amount or a billed quantity to two decimals: 0.00, <0.01 (more than 0, less than half a
// cent), 0.62, 1234.50.
std::string human_amount(double v);

}  // namespace drsim::cli
