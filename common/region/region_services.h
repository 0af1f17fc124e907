// gRPC edge of a region: the Workload (client-facing) and RegionAdmin
// services. Handlers validate what they can without state, then post to the
// RegionNode's loop and finish the reactor from there.
#pragma once

#include "common/core/drifting_scheduler.h"
#include "common/region/region_node.h"
#include "drsim/v1/admin.grpc.pb.h"
#include "drsim/v1/workload.grpc.pb.h"

namespace drsim::region {

// Trailing metadata on a failed write: "no" = definitely not applied;
// "unknown" = applied locally, replication unconfirmed (indeterminate).
inline constexpr char kAppliedMetadataKey[] = "drsim-applied";

class WorkloadService final : public drsim::v1::Workload::CallbackService {
 public:
  explicit WorkloadService(RegionNode& node) : node_(node) {}

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx, const drsim::v1::PutRequest* req,
                                drsim::v1::PutResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const drsim::v1::DeleteRequest* req,
                                   drsim::v1::DeleteResponse* resp) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const drsim::v1::GetRequest* req,
                                drsim::v1::GetResponse* resp) override;
  grpc::ServerUnaryReactor* WriteBatch(grpc::CallbackServerContext* ctx,
                                       const drsim::v1::WriteBatchRequest* req,
                                       drsim::v1::WriteBatchResponse* resp) override;
  grpc::ServerUnaryReactor* Scan(grpc::CallbackServerContext* ctx,
                                 const drsim::v1::ScanRequest* req,
                                 drsim::v1::ScanResponse* resp) override;

 private:
  RegionNode& node_;
};

class AdminService final : public drsim::v1::RegionAdmin::CallbackService {
 public:
  // `clock_rate` is the process's scheduler that `drsim inject clock-drift` drifts.
  AdminService(RegionNode& node, DriftingScheduler& clock_rate)
      : node_(node), clock_rate_(clock_rate) {}

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const drsim::v1::GetStatusRequest* req,
                                      drsim::v1::GetStatusResponse* resp) override;
  grpc::ServerUnaryReactor* Failover(grpc::CallbackServerContext* ctx,
                                     const drsim::v1::FailoverRequest* req,
                                     drsim::v1::FailoverResponse* resp) override;
  grpc::ServerUnaryReactor* SetOutage(grpc::CallbackServerContext* ctx,
                                      const drsim::v1::SetOutageRequest* req,
                                      drsim::v1::SetOutageResponse* resp) override;
  grpc::ServerUnaryReactor* SetPeer(grpc::CallbackServerContext* ctx,
                                    const drsim::v1::SetPeerRequest* req,
                                    drsim::v1::SetPeerResponse* resp) override;
  grpc::ServerUnaryReactor* SetWitness(grpc::CallbackServerContext* ctx,
                                       const drsim::v1::SetWitnessRequest* req,
                                       drsim::v1::SetWitnessResponse* resp) override;
  grpc::ServerUnaryReactor* SetClockOffset(grpc::CallbackServerContext* ctx,
                                           const drsim::v1::SetClockOffsetRequest* req,
                                           drsim::v1::SetClockOffsetResponse* resp) override;
  grpc::ServerUnaryReactor* SetClockDrift(grpc::CallbackServerContext* ctx,
                                          const drsim::v1::SetClockDriftRequest* req,
                                          drsim::v1::SetClockDriftResponse* resp) override;
  grpc::ServerUnaryReactor* Reprotect(grpc::CallbackServerContext* ctx,
                                      const drsim::v1::ReprotectRequest* req,
                                      drsim::v1::ReprotectResponse* resp) override;
  grpc::ServerUnaryReactor* PlannedFailover(grpc::CallbackServerContext* ctx,
                                            const drsim::v1::PlannedFailoverRequest* req,
                                            drsim::v1::PlannedFailoverResponse* resp) override;

 private:
  RegionNode& node_;
  DriftingScheduler& clock_rate_;
};

}  // namespace drsim::region
