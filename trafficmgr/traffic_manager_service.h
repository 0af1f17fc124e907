// The drsim.v1.TrafficManager gRPC service: Resolve (routed per query over the profile set),
// ListEndpoints, ListProfiles, SetLatency and the WatchRouting event stream. Handlers read what the loop thread published in RoutingState and never wait on
// the loop; each WatchRouting stream keeps its own queue with one write in flight.
#pragma once

#include <functional>

#include "drsim/v1/trafficmgr.grpc.pb.h"
#include "trafficmgr/lease_witness.h"
#include "trafficmgr/routing_state.h"

namespace drsim::trafficmgr {

class TrafficManagerService final : public v1::TrafficManager::CallbackService {
 public:
  // A watch stream that falls this far behind is ended with RESOURCE_EXHAUSTED rather than
  // buffering without bound.
  static constexpr size_t kMaxQueuedEvents = 10000;

  // Called on a gRPC thread when a region's granted renewal says it has just begun serving
  // writes (RENEWAL_KIND_NOW_SERVING); it must not block (post to the loop).
  using NowServing = std::function<void(const std::string& region, uint64_t epoch)>;

  TrafficManagerService(RoutingState& state, LeaseWitness& witness, NowServing now_serving = {})
      : state_(state), witness_(witness), now_serving_(std::move(now_serving)) {}

  // drsim::v1::TrafficManager
  grpc::ServerUnaryReactor* Resolve(grpc::CallbackServerContext* ctx,
                                    const v1::ResolveRequest* request,
                                    v1::ResolveResponse* response) override;
  grpc::ServerUnaryReactor* ListEndpoints(grpc::CallbackServerContext* ctx,
                                          const v1::ListEndpointsRequest* request,
                                          v1::ListEndpointsResponse* response) override;
  grpc::ServerWriteReactor<v1::RoutingEvent>* WatchRouting(
      grpc::CallbackServerContext* ctx, const v1::WatchRoutingRequest* request) override;
  grpc::ServerUnaryReactor* ListProfiles(grpc::CallbackServerContext* ctx,
                                         const v1::ListProfilesRequest* request,
                                         v1::ListProfilesResponse* response) override;
  grpc::ServerUnaryReactor* SetLatency(grpc::CallbackServerContext* ctx,
                                       const v1::SetLatencyRequest* request,
                                       v1::SetLatencyResponse* response) override;
  // The lease witness (lease_witness.h).
  grpc::ServerUnaryReactor* RenewLease(grpc::CallbackServerContext* ctx,
                                       const v1::RenewLeaseRequest* request,
                                       v1::RenewLeaseResponse* response) override;
  grpc::ServerUnaryReactor* FenceLease(grpc::CallbackServerContext* ctx,
                                       const v1::FenceLeaseRequest* request,
                                       v1::FenceLeaseResponse* response) override;

 private:
  // INVALID_ARGUMENT for an empty or oversized name, NOT_FOUND for a profile not served. On
  // success `canonical` is the profile's own spelling.
  grpc::Status check_profile(const std::string& profile, std::string* canonical) const;

  RoutingState& state_;
  LeaseWitness& witness_;
  NowServing now_serving_;
};

}  // namespace drsim::trafficmgr
