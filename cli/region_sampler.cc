#include "cli/region_sampler.h"

#include "cli/rpc_clients.h"
#include "common/core/time.h"

namespace drsim::cli {

// Bounds memory for long drills: at 5 samples a second per region, an hour.
constexpr size_t kMaxSamples = 36'000;

RegionSampler::RegionSampler(std::map<std::string, std::string> addresses,
                             std::chrono::milliseconds period)
    : addresses_(std::move(addresses)), period_(period) {
  for (const auto& [region, address] : addresses_) {
    // Init-captures: clang 14 (the fuzz build's) cannot capture structured bindings by name.
    threads_.emplace_back([this, r = region, a = address] { run(r, a); });
  }
}

RegionSampler::~RegionSampler() { stop(); }

void RegionSampler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void RegionSampler::run(const std::string& region, const std::string& address) {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    int64_t sent = wall_now_unix_nanos();
    auto st = region_status(address);
    int64_t received = wall_now_unix_nanos();
    lock.lock();
    if (st.is_ok()) {  // else down, frozen or in an outage window: no sample
      LagSample s;
      s.unix_nanos = received;
      s.region = region;
      s.active = st->role() == drsim::v1::ROLE_ACTIVE;
      s.epoch = st->epoch();
      s.replication_connected = st->replication_connected();
      if (s.active) {
        for (const auto& w : st->workloads()) {
          s.lag_writes[w.name()] = w.lag_writes();
          s.lag_ms[w.name()] = w.lag_ms();
        }
      }
      if (samples_.size() < kMaxSamples) samples_.push_back(s);
      latest_[region] = std::move(s);
      offsets_[region] = estimate_clock_offset_ns(sent, received, st->now_unix_nanos());
    }
    cv_.wait_for(lock, period_, [this] { return stopping_; });
  }
}

std::vector<LagSample> RegionSampler::samples() const {
  std::lock_guard lock(mu_);
  return samples_;
}

std::optional<LagSample> RegionSampler::latest(const std::string& region) const {
  std::lock_guard lock(mu_);
  auto it = latest_.find(region);
  if (it == latest_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> RegionSampler::lag_writes(const std::string& region) const {
  auto s = latest(region);
  if (!s || !s->active) return std::nullopt;
  uint64_t total = 0;
  for (const auto& [w, n] : s->lag_writes) total += n;
  return total;
}

int64_t RegionSampler::clock_offset_ns(const std::string& region) const {
  std::lock_guard lock(mu_);
  auto it = offsets_.find(region);
  return it == offsets_.end() ? 0 : it->second;
}

}  // namespace drsim::cli
