#include "trafficmgr/lease_witness.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/runtime/durable_file.h"

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

Status LeaseWitness::restore() {
  if (state_file_.empty()) return Status::ok();
  std::ifstream in(state_file_);
  if (!in) {
    if (errno == ENOENT) return Status::ok();  // first start
    return failed_precondition("cannot read " + state_file_ + ": " + std::strerror(errno));
  }
  std::map<PairKey, uint64_t> restored;
  try {
    auto j = nlohmann::json::parse(in);
    if (j.at("schema_version").get<int>() != 1) {
      return failed_precondition(state_file_ + ": schema_version " +
                                 j.at("schema_version").dump() + " is not 1");
    }
    for (const auto& p : j.at("pairs")) {
      auto regions = p.at("regions").get<std::vector<std::string>>();
      if (regions.size() != 2) return failed_precondition(state_file_ + ": pairs[].regions: not two");
      for (const auto& r : regions) {
        if (Status s = check_region("pairs[].regions", r); !s.is_ok()) {
          return failed_precondition(state_file_ + ": " + s.message());
        }
      }
      std::sort(regions.begin(), regions.end());
      restored[{regions[0], regions[1]}] = p.at("highest_epoch").get<uint64_t>();
    }
  } catch (const std::exception& e) {
    return failed_precondition(state_file_ + ": corrupt lease witness state: " + e.what());
  }
  std::lock_guard lock(mu_);
  persisted_ = std::move(restored);
  for (const auto& [key, epoch] : persisted_) {
    spdlog::info("lease witness: {} / {} were at epoch {} before this start", key.first,
                 key.second, epoch);
  }
  return Status::ok();
}

Status LeaseWitness::persist_highest(const PairKey& key, Epoch highest) {
  if (state_file_.empty()) return Status::ok();
  auto it = persisted_.find(key);
  if (it != persisted_.end() && it->second >= highest.value()) return Status::ok();
  auto next = persisted_;
  next[key] = highest.value();
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& [k, epoch] : next) {
    pairs.push_back({{"regions", {k.first, k.second}}, {"highest_epoch", epoch}});
  }
  nlohmann::json j = {{"schema_version", 1}, {"pairs", pairs}};
  if (Status s = runtime::replace_file_durably(state_file_, j.dump(2) + "\n", 0600); !s.is_ok()) {
    spdlog::error("lease witness: {}", s.message());
    return unavailable("the lease witness cannot record epoch " +
                       std::to_string(highest.value()) + ": " + s.message());
  }
  persisted_ = std::move(next);
  return Status::ok();
}

model::LeaseGrantor& LeaseWitness::grantor(const std::string& a, const std::string& b,
                                           const model::LeaseTimes& times, Time now) {
  PairKey key = pair_key(a, b);
  auto it = pairs_.find(key);
  if (it == pairs_.end()) {
    // First word from this pair since the witness started: it may have granted before a
    // restart, so it assumes it just did (model::LeaseGrantor's constructor).
    it = pairs_.emplace(key, model::LeaseGrantor(times, now)).first;
    // And it refuses every epoch older than the newest it recorded before the restart.
    if (auto p = persisted_.find(key); p != persisted_.end()) it->second.observe(Epoch(p->second));
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
  // A grant at a newer epoch than recorded (a promotion without the witness) is recorded first.
  if (a.granted) {
    if (Status s = persist_highest(pair_key(req.region(), req.peer()), a.highest); !s.is_ok()) {
      return s;
    }
  }
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
  // Recorded before the answer: a witness restarted after this promotion still refuses the old
  // epoch. If it cannot be recorded the promotion is refused and the old epoch keeps its grants.
  if (Status s = persist_highest(pair_key(req.region(), req.peer()), g.highest()); !s.is_ok()) {
    g.lift_fence();
    return s;
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
