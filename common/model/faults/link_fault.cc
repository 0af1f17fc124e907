#include "common/model/faults/link_fault.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace drsim::model {

namespace {

// Decorrelates the jitter and stall generators drawn from one seed (splitmix64's constants).
constexpr uint64_t kJitterStream = 0x9E3779B97F4A7C15ULL;
constexpr uint64_t kStallStream = 0xBF58476D1CE4E5B9ULL;


}  // namespace

uint64_t default_burst_bytes(uint64_t bytes_per_second) {
  return std::max<uint64_t>(1, bytes_per_second / 50);
}

Status validate(const LatencyFault& f, const std::string& field) {
  if (f.latency < Duration::zero() || f.latency > kMaxLatency) {
    return invalid_argument(field + ".latency_ms: " + std::to_string(whole_ms(f.latency)) +
                            " is out of range 0.." + std::to_string(whole_ms(kMaxLatency)));
  }
  if (f.jitter < Duration::zero() || f.jitter > f.latency) {
    return invalid_argument(field + ".jitter_ms: " + std::to_string(whole_ms(f.jitter)) +
                            " is out of range 0..latency_ms (" +
                            std::to_string(whole_ms(f.latency)) + ")");
  }
  return Status::ok();
}

Status validate(const BandwidthFault& f, const std::string& field) {
  if (f.bytes_per_second == 0 || f.bytes_per_second > kMaxBytesPerSecond) {
    return invalid_argument(field + ".bytes_per_second: " + std::to_string(f.bytes_per_second) +
                            " is out of range 1.." + std::to_string(kMaxBytesPerSecond));
  }
  if (f.burst_bytes == 0 || f.burst_bytes > kMaxBytesPerSecond) {
    return invalid_argument(field + ".burst_bytes: " + std::to_string(f.burst_bytes) +
                            " is out of range 1.." + std::to_string(kMaxBytesPerSecond));
  }
  return Status::ok();
}

Status validate(const StallFault& f, const std::string& field) {
  if (f.stall <= Duration::zero() || f.stall > kMaxStall) {
    return invalid_argument(field + ".stall_ms: " + std::to_string(whole_ms(f.stall)) +
                            " is out of range 1.." + std::to_string(whole_ms(kMaxStall)));
  }
  if (f.interval < kMinStallInterval || f.interval > kMaxStallInterval) {
    return invalid_argument(field + ".interval_ms: " + std::to_string(whole_ms(f.interval)) +
                            " is out of range " + std::to_string(whole_ms(kMinStallInterval)) +
                            ".." + std::to_string(whole_ms(kMaxStallInterval)));
  }
  return Status::ok();
}

LinkFault::LinkFault(uint64_t seed)
    : jitter_rng_(seed ^ kJitterStream), stall_rng_(seed ^ kStallStream), seed_(seed) {}

void LinkFault::set_partition(PartitionMode mode) { faults_.partition = mode; }

void LinkFault::set_latency(const LatencyFault& fault) {
  DRSIM_CHECK(validate(fault, "latency").is_ok());
  // A zero latency is no latency fault, so listing does not show a no-op.
  if (fault.latency == Duration::zero()) {
    faults_.latency.reset();
  } else {
    faults_.latency = fault;
  }
}

void LinkFault::set_bandwidth(const BandwidthFault& fault, Time now) {
  DRSIM_CHECK(validate(fault, "bandwidth").is_ok());
  faults_.bandwidth = fault;
  // A new cap starts with a full bucket: the burst is what the cap allows at once.
  tokens_ = static_cast<double>(fault.burst_bytes);
  bucket_time_ = now;
}

void LinkFault::set_stall(const StallFault& fault, Time now) {
  DRSIM_CHECK(validate(fault, "stall").is_ok());
  faults_.stall = fault;
  // Reseeded so the windows are a function of (seed, set time) alone.
  stall_rng_ = Rng(seed_ ^ kStallStream);
  Time begin = now + next_stall_gap();
  stall_window_ = {begin, begin + fault.stall};
}

void LinkFault::set_reset(ResetMode mode) {
  faults_.reset_new_connections = faults_.reset_new_connections || mode == ResetMode::kKeep;
}

void LinkFault::heal() { faults_ = FaultSet{}; }

Duration LinkFault::jitter_sample(Duration jitter) {
  if (jitter <= Duration::zero()) return Duration::zero();
  // Uniform over the whole nanoseconds of [-jitter, +jitter].
  auto span = static_cast<uint64_t>(jitter.count()) * 2 + 1;
  return Duration(static_cast<int64_t>(jitter_rng_.below(span)) - jitter.count());
}

Duration LinkFault::next_stall_gap() {
  // Uniform in [interval/2, 3*interval/2]: windows come irregularly but at the given mean.
  auto interval = faults_.stall->interval.count();
  auto span = static_cast<uint64_t>(interval) + 1;
  return Duration(interval / 2 + static_cast<int64_t>(stall_rng_.below(span)));
}

std::optional<LinkFault::StallWindow> LinkFault::stall_window_at_or_after(Time t) {
  if (!faults_.stall) return std::nullopt;
  while (stall_window_.end <= t) {
    Time begin = stall_window_.end + next_stall_gap();
    stall_window_ = {begin, begin + faults_.stall->stall};
  }
  return stall_window_;
}

Time LinkFault::apply_bandwidth(size_t bytes, Time t) {
  const BandwidthFault& cap = *faults_.bandwidth;
  const double rate = static_cast<double>(cap.bytes_per_second);
  // Another connection's chunk may already have pushed the bucket into the future; this one
  // queues behind it, as on a shared wire.
  Time start = std::max(t, bucket_time_);
  double elapsed_s = std::chrono::duration<double>(start - bucket_time_).count();
  tokens_ = std::min(static_cast<double>(cap.burst_bytes), tokens_ + elapsed_s * rate);
  bucket_time_ = start;
  const double need = static_cast<double>(bytes);
  if (tokens_ >= need) {
    tokens_ -= need;
    return start;
  }
  // Wait until the deficit has trickled in; the bucket is then empty at the release time.
  double wait_s = (need - tokens_) / rate;
  Time release =
      start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_s));
  tokens_ = 0;
  bucket_time_ = release;
  return release;
}

ChunkDecision LinkFault::decide(size_t bytes, Time now, Time last_release) {
  if (faults_.partition == PartitionMode::kBlackhole) {
    return {ChunkDecision::Kind::kHold, kNever};
  }
  if (faults_.partition == PartitionMode::kDrop) return {ChunkDecision::Kind::kDrop, kNever};

  Time t = now;
  if (faults_.latency) t += faults_.latency->latency + jitter_sample(faults_.latency->jitter);
  // Per-connection order: never before the previous chunk (jitter must not reorder bytes).
  t = std::max({t, now, last_release});
  if (auto window = stall_window_at_or_after(t); window && window->begin <= t) {
    t = window->end;
  }
  if (faults_.bandwidth) t = apply_bandwidth(bytes, t);
  return {ChunkDecision::Kind::kForward, t};
}

}  // namespace drsim::model
