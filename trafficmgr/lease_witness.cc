#include "trafficmgr/lease_witness.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace drsim::trafficmgr {

namespace {

constexpr size_t kMaxRegionBytes = 64;

Status check_region(const char* field, const std::string& name) {
  if (name.empty() || name.size() > kMaxRegionBytes) {
    return invalid_argument(std::string(field) + ": must have 1.." +
                            std::to_string(kMaxRegionBytes) + " bytes");
  }
  return Status::ok();
}

// The lease parameters a request carries, validated like the topology's.
Result<model::LeaseTimes> times_of(uint32_t lease_ms, double drift) {
  model::LeaseTimes t;
  t.lease = std::chrono::milliseconds(lease_ms);
  t.renew_interval = t.lease / 4;
  t.drift = drift;
  if (Status s = t.validate("request"); !s.is_ok()) return s;
  return t;
}

// Both RPCs name a pair, an epoch and the holder's lease parameters.
Result<model::LeaseTimes> check_request(const std::string& region, const std::string& peer,
                                        const char* epoch_field, uint64_t epoch,
                                        uint32_t lease_ms, double drift) {
  if (Status s = check_region("region", region); !s.is_ok()) return s;
  if (Status s = check_region("peer", peer); !s.is_ok()) return s;
  if (region == peer) return invalid_argument("peer: must differ from region");
  if (epoch == 0) return invalid_argument(std::string(epoch_field) + ": must be > 0");
  return times_of(lease_ms, drift);
}

}  // namespace

model::LeaseGrantor& LeaseWitness::grantor(const std::string& a, const std::string& b,
                                           const model::LeaseTimes& times, Time now) {
  PairKey key = a < b ? PairKey{a, b} : PairKey{b, a};
  auto it = pairs_.find(key);
  if (it == pairs_.end()) {
    // First word from this pair since the witness started: it may have granted before a
    // restart, so it assumes it just did (model::LeaseGrantor's constructor).
    it = pairs_.emplace(key, model::LeaseGrantor(times, now)).first;
  }
  // The longest lease any holder of the pair asked for: believed that long.
  if (times.grantor_belief() > it->second.times().grantor_belief()) it->second.set_times(times);
  return it->second;
}

Result<v1::RenewLeaseResponse> LeaseWitness::renew(const v1::RenewLeaseRequest& req) {
  auto times = check_request(req.region(), req.peer(), "epoch", req.epoch(), req.lease_ms(),
                             req.lease_drift());
  if (!times.is_ok()) return times.status();
  std::lock_guard lock(mu_);
  Time now = clock_.now();
  auto a = grantor(req.region(), req.peer(), *times, now).on_request(req.region(), Epoch(req.epoch()), now);
  v1::RenewLeaseResponse resp;
  resp.set_granted(a.granted);
  resp.set_highest_epoch(a.highest.value());
  resp.set_reason(a.reason);
  return resp;
}

Result<v1::FenceLeaseResponse> LeaseWitness::fence(const v1::FenceLeaseRequest& req) {
  auto times = check_request(req.region(), req.peer(), "new_epoch", req.new_epoch(),
                             req.lease_ms(), req.lease_drift());
  if (!times.is_ok()) return times.status();
  std::lock_guard lock(mu_);
  Time now = clock_.now();
  auto& g = grantor(req.region(), req.peer(), *times, now);
  auto remaining = g.fence(Epoch(req.new_epoch()), now);
  if (!remaining.is_ok()) {
    v1::FenceLeaseResponse refused;
    refused.set_refused(true);
    refused.set_reason(remaining.status().message());
    refused.set_highest_epoch(g.highest().value());
    return refused;
  }
  g.keep_fence();  // the witness never lifts it: only a newer epoch asks again
  spdlog::info("lease witness: {} promotes to epoch {}; {}'s lease may last {:.0f} ms more",
               req.region(), req.new_epoch(), req.peer(), to_ms(*remaining));
  v1::FenceLeaseResponse resp;
  resp.set_remaining_ms(to_ms(*remaining));
  resp.set_highest_epoch(g.highest().value());
  return resp;
}

}  // namespace drsim::trafficmgr
