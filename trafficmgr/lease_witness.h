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

class LeaseWitness {
 public:
  explicit LeaseWitness(const Clock& clock) : clock_(clock) {}

  // INVALID_ARGUMENT naming the field for bad names, epochs or lease parameters.
  Result<v1::RenewLeaseResponse> renew(const v1::RenewLeaseRequest& req);
  // `refused` (with the pair's highest epoch) when new_epoch is not newer than every epoch the
  // pair has seen.
  Result<v1::FenceLeaseResponse> fence(const v1::FenceLeaseRequest& req);

 private:
  using PairKey = std::pair<std::string, std::string>;  // the two region names, sorted
  model::LeaseGrantor& grantor(const std::string& a, const std::string& b,
                               const model::LeaseTimes& times, Time now);

  const Clock& clock_;
  std::mutex mu_;
  std::map<PairKey, model::LeaseGrantor> pairs_;
};

}  // namespace drsim::trafficmgr
