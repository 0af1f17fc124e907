// How far a region's wall clock is from the drill machine's, from one status call (Cristian's
// algorithm): the region's `remote_now` is taken somewhere between the call's send and receipt,
// so the offset is remote_now minus their midpoint, uncertain by half the round trip. Pure.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace drsim::model {

inline int64_t estimate_clock_offset_ns(int64_t sent, int64_t received, int64_t remote_now) {
  return remote_now - (sent + (received - sent) / 2);
}

// The offset worth correcting for: 0 when the estimate lies within the call's uncertainty (half
// its round trip) — noise, such as a slow first call on a new TLS channel — else the estimate.
inline int64_t significant_clock_offset_ns(int64_t sent, int64_t received, int64_t remote_now) {
  int64_t offset = estimate_clock_offset_ns(sent, received, remote_now);
  return std::llabs(offset) <= (received - sent) / 2 ? 0 : offset;
}

}  // namespace drsim::model
