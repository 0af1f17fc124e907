// Human units for text output (exact values stay in --json): sizes in binary units, durations
// in the largest units that keep them readable.
#pragma once

#include <cstdint>
#include <string>

namespace drsim::cli {

// 512 B, 40.7 KiB, 1.2 MiB, 3.0 GiB.
std::string human_bytes(uint64_t bytes);
// 340 ms, 1.2 s, 11 min 22 s, 3 h 05 min, 2 d 4 h.
std::string human_duration_ms(uint64_t ms);
// A money amount or a billed quantity to two decimals: 0.00, <0.01 (more than 0, less than half a
// cent), 0.62, 1234.50.
std::string human_amount(double v);

}  // namespace drsim::cli
