// The Traffic Manager's lease witness (docs/replication.md): the third vote beside the two
// regions. The active region of a pair renews its lease here (RenewLease); a standby about to
// be promoted fences here (FenceLease) and learns how long the last grant to the old epoch may
// still be believed. One LeaseGrantor per region pair, keyed by the two names; gRPC handler
// threads call it directly (one mutex, no waiting on the loop), on this process's monotonic
// clock.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "common/core/clock.h"
#include "common/core/status.h"
#include "common/model/replication/lease.h"
#include "drsim/v1/trafficmgr.pb.h"

namespace drsim::trafficmgr {

//
// Its memory that must survive a restart is the highest epoch each pair has seen: a witness that
// forgot it would grant to a superseded active region that asks before the new one renews. With
// a state file it writes that epoch durably (runtime/durable_file.h) before it answers a fence or
// a grant that raised it, and restores it at start; without one (tests) it remembers nothing.
class LeaseWitness {
 public:
  explicit LeaseWitness(const Clock& clock, std::string state_file = "")
      : clock_(clock), state_file_(std::move(state_file)) {}

  // Reads the state file (a missing file is a first start). FAILED_PRECONDITION naming the file
  // and the field when it is unreadable or corrupt: the witness must not start forgetting.
  Status restore();

  // INVALID_ARGUMENT naming the field for bad names, epochs or lease parameters.
  Result<v1::RenewLeaseResponse> renew(const v1::RenewLeaseRequest& req);
  // `refused` (with the pair's highest epoch) when new_epoch is not newer than every epoch the
  // pair has seen.
  Result<v1::FenceLeaseResponse> fence(const v1::FenceLeaseRequest& req);

 private:
  using PairKey = std::pair<std::string, std::string>;  // the two region names, sorted
  static PairKey pair_key(const std::string& a, const std::string& b) {
    return a < b ? PairKey{a, b} : PairKey{b, a};
  }
  model::LeaseGrantor& grantor(const std::string& a, const std::string& b,
                               const model::LeaseTimes& times, Time now);

  // Writes the pair's new highest epoch when it rose; UNAVAILABLE naming the file otherwise.
  Status persist_highest(const PairKey& key, Epoch highest);

  const Clock& clock_;
  std::string state_file_;
  std::mutex mu_;
  std::map<PairKey, model::LeaseGrantor> pairs_;
  std::map<PairKey, uint64_t> persisted_;  // highest epoch per pair as written to state_file_
};

}  // namespace drsim::trafficmgr
