// RegionNode's links to the other members of its topology, as interfaces: the replication
// stream (replication_transport.h), the peer's unary Replication.Fence (PeerControl) and the
// Traffic Manager's lease witness (LeaseWitnessClient). The daemon injects the gRPC ones
// (grpc_region_links.h); tests/sim injects in-memory ones on the SimScheduler.
#pragma once

#include <functional>
#include <string>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/region/replication_transport.h"
#include "drsim/v1/replication.pb.h"
#include "drsim/v1/trafficmgr.pb.h"

namespace drsim::region {

// Stops a call in flight: its `done` then runs with CANCELLED, or not at all. Loop thread only.
using CancelCall = std::function<void()>;

// The peer region's unary control RPCs. `done` runs on the loop exactly once (unless
// cancelled), with the reply or why there is none: UNAVAILABLE (not reachable) or
// DEADLINE_EXCEEDED (no answer within `deadline`), or the peer's refusal.
class PeerControl {
 public:
  using FenceDone = std::function<void(const Status&, const drsim::v1::FenceReply&)>;
  virtual ~PeerControl() = default;
  virtual CancelCall fence(const std::string& peer_address, const drsim::v1::FenceRequest& request,
                           Duration deadline, FenceDone done) = 0;
};

// The lease witness (the Traffic Manager's RenewLease / FenceLease), with the same contract for
// `done` as PeerControl.
class LeaseWitnessClient {
 public:
  using RenewDone = std::function<void(const Status&, const drsim::v1::RenewLeaseResponse&)>;
  using FenceDone = std::function<void(const Status&, const drsim::v1::FenceLeaseResponse&)>;
  virtual ~LeaseWitnessClient() = default;
  virtual CancelCall renew(const std::string& witness_address,
                           const drsim::v1::RenewLeaseRequest& request, Duration deadline,
                           RenewDone done) = 0;
  virtual CancelCall fence(const std::string& witness_address,
                           const drsim::v1::FenceLeaseRequest& request, Duration deadline,
                           FenceDone done) = 0;
};

// What RegionNode is given; the objects outlive it.
struct RegionLinks {
  ReplicationTransport& replication;
  PeerControl& peer;
  LeaseWitnessClient& witness;
};

}  // namespace drsim::region
