// LinkFault: the faults of one direction of one proxied link as a pure state machine. Given a
// chunk of bytes arriving at `now`, it says when the chunk may be forwarded, or that it must be
// held (blackhole partition) or dropped. drsim-faultproxy's TcpLink does the sockets and timers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/core/rng.h"
#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

enum class PartitionMode {
  kBlackhole,  // hold every byte, keep connections open
  kDrop,       // reset open and new connections (the proxy resets open ones when set)
};

struct LatencyFault {
  Duration latency{0};
  // Each chunk's delay is latency + uniform[-jitter, +jitter]; jitter <= latency.
  Duration jitter{0};
};

struct BandwidthFault {
  uint64_t bytes_per_second = 0;  // > 0
  uint64_t burst_bytes = 0;       // > 0; see default_burst_bytes
};

// The burst a bandwidth cap gets when none is given: 20 ms worth, so a cap is felt at once.
uint64_t default_burst_bytes(uint64_t bytes_per_second);

struct StallFault {
  Duration stall{0};  // length of each window, > 0
  Duration interval{
      0};  // mean gap between windows, > 0; gaps uniform in [interval/2, 3/2 interval]
};

enum class ResetMode {
  kOnce,  // the driver resets open connections; nothing stays set
  kKeep,  // and new connections are reset until healed
};

// Bounds the driver validates requests against (the model checks them too).
inline constexpr Duration kMaxLatency = std::chrono::minutes(10);
inline constexpr Duration kMaxStall = std::chrono::minutes(10);
inline constexpr Duration kMinStallInterval = std::chrono::milliseconds(10);
inline constexpr Duration kMaxStallInterval = std::chrono::hours(1);
inline constexpr uint64_t kMaxBytesPerSecond = 10'000'000'000ULL;

// INVALID_ARGUMENT naming the field (prefixed by `field`) when out of bounds.
Status validate(const LatencyFault& f, const std::string& field);
Status validate(const BandwidthFault& f, const std::string& field);
Status validate(const StallFault& f, const std::string& field);

// What is set now, for listing.
struct FaultSet {
  std::optional<PartitionMode> partition;
  std::optional<LatencyFault> latency;
  std::optional<BandwidthFault> bandwidth;
  std::optional<StallFault> stall;
  bool reset_new_connections = false;

  bool empty() const {
    return !partition && !latency && !bandwidth && !stall && !reset_new_connections;
  }
};

// The verdict on one chunk.
struct ChunkDecision {
  enum class Kind {
    kForward,  // write it at release_at (not before)
    kHold,     // keep it; ask again after the faults change (heal)
    kDrop,     // discard it
  };
  Kind kind = Kind::kForward;
  Time release_at = kTimeZero;
};

// One direction of one link, shared by all its connections: the bandwidth bucket and the stall
// windows are link-wide, while order is per connection (the caller passes its last release).
// Composition order for a chunk: latency (+jitter), then per-connection order, then stall
// windows, then the bandwidth bucket — a delayed packet still has to squeeze through the cap.
class LinkFault {
 public:
  // Jitter and stall windows draw from two generators derived from `seed`, so the stall windows
  // depend on the seed and set time only, never on the traffic.
  explicit LinkFault(uint64_t seed);

  // Each replaces a fault of the same kind and keeps the others. Faults must be valid (checked).
  void set_partition(PartitionMode mode);
  void set_latency(const LatencyFault& fault);
  void set_bandwidth(const BandwidthFault& fault, Time now);
  void set_stall(const StallFault& fault, Time now);
  void set_reset(ResetMode mode);
  // Clears every fault. Held chunks should then be decided again (they go out at once unless a
  // new fault is set meanwhile).
  void heal();

  // A chunk of `bytes` arrived at `now` on a connection whose previous chunk was released at
  // `last_release` (kTimeZero for none). A kForward release_at is >= max(now, last_release), so
  // chunks of one connection leave in order.
  ChunkDecision decide(size_t bytes, Time now, Time last_release);

  // Nothing may be written now: a blackhole partition. Chunks already decided must wait too.
  bool holding() const { return faults_.partition == PartitionMode::kBlackhole; }
  bool drops() const { return faults_.partition == PartitionMode::kDrop; }
  // New connections must be reset on accept (PARTITION_DROP or a kept reset).
  bool refuses_new_connections() const {
    return faults_.partition == PartitionMode::kDrop || faults_.reset_new_connections;
  }
  const FaultSet& faults() const { return faults_; }

  struct StallWindow {
    Time begin;
    Time end;
  };
  // The stall window containing `t`, or else the first one after it; nullopt without a stall
  // fault. Advances the windows past those ending at or before `t` (they are never needed
  // again: callers ask with non-decreasing times, up to reordering across connections).
  std::optional<StallWindow> stall_window_at_or_after(Time t);

 private:
  Duration jitter_sample(Duration jitter);
  Duration next_stall_gap();
  Time apply_bandwidth(size_t bytes, Time t);

  FaultSet faults_;
  Rng jitter_rng_;
  Rng stall_rng_;
  uint64_t seed_;
  // Bandwidth bucket: tokens at bucket_time_ (a deficit is paid for by moving bucket_time_ on).
  double tokens_ = 0;
  Time bucket_time_ = kTimeZero;
  StallWindow stall_window_{};
};

}  // namespace drsim::model
