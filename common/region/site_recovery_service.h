// gRPC edge of the Site Recovery vault (proto/drsim/v1/siterecovery.proto): validates what it
// can without state, posts to the region loop where SiteRecoveryDriver lives, and finishes the
// reactor from there.
#pragma once

#include "common/region/site_recovery_driver.h"
#include "drsim/v1/siterecovery.grpc.pb.h"

namespace drsim::region {

class SiteRecoveryService final : public drsim::v1::SiteRecovery::CallbackService {
 public:
  SiteRecoveryService(boost::asio::io_context& io, SiteRecoveryDriver& driver)
      : io_(io), driver_(driver) {}

  grpc::ServerUnaryReactor* Protect(grpc::CallbackServerContext* ctx,
                                    const drsim::v1::ProtectItemRequest* req,
                                    drsim::v1::ProtectItemResponse* resp) override;
  grpc::ServerUnaryReactor* ListItems(grpc::CallbackServerContext* ctx,
                                      const drsim::v1::ListItemsRequest* req,
                                      drsim::v1::ListItemsResponse* resp) override;
  grpc::ServerUnaryReactor* ListPoints(grpc::CallbackServerContext* ctx,
                                       const drsim::v1::ListPointsRequest* req,
                                       drsim::v1::ListPointsResponse* resp) override;
  grpc::ServerUnaryReactor* UnplannedFailover(grpc::CallbackServerContext* ctx,
                                              const drsim::v1::UnplannedFailoverRequest* req,
                                              drsim::v1::UnplannedFailoverResponse* resp) override;
  grpc::ServerUnaryReactor* TestFailover(grpc::CallbackServerContext* ctx,
                                         const drsim::v1::TestFailoverRequest* req,
                                         drsim::v1::TestFailoverResponse* resp) override;
  grpc::ServerUnaryReactor* CleanupTestFailover(
      grpc::CallbackServerContext* ctx, const drsim::v1::CleanupTestFailoverRequest* req,
      drsim::v1::CleanupTestFailoverResponse* resp) override;
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* ctx,
                                   const drsim::v1::CommitRequest* req,
                                   drsim::v1::CommitResponse* resp) override;
  grpc::ServerUnaryReactor* ReprotectItems(grpc::CallbackServerContext* ctx,
                                           const drsim::v1::ReprotectItemsRequest* req,
                                           drsim::v1::ReprotectItemsResponse* resp) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx,
                                     const drsim::v1::ListJobsRequest* req,
                                     drsim::v1::ListJobsResponse* resp) override;
  grpc::ServerUnaryReactor* AdoptItems(grpc::CallbackServerContext* ctx,
                                       const drsim::v1::AdoptItemsRequest* req,
                                       drsim::v1::AdoptItemsResponse* resp) override;
  grpc::ServerUnaryReactor* PlannedFailoverItems(
      grpc::CallbackServerContext* ctx, const drsim::v1::PlannedFailoverItemsRequest* req,
      drsim::v1::PlannedFailoverItemsResponse* resp) override;
  grpc::ServerUnaryReactor* ProtectGroup(grpc::CallbackServerContext* ctx,
                                         const drsim::v1::ProtectGroupRequest* req,
                                         drsim::v1::ProtectItemResponse* resp) override;
  grpc::ServerUnaryReactor* ChangeRecoveryPoint(
      grpc::CallbackServerContext* ctx, const drsim::v1::ChangeRecoveryPointRequest* req,
      drsim::v1::ChangeRecoveryPointResponse* resp) override;
  grpc::ServerUnaryReactor* CreatePlan(grpc::CallbackServerContext* ctx,
                                       const drsim::v1::CreatePlanRequest* req,
                                       drsim::v1::PlanInfo* resp) override;
  grpc::ServerUnaryReactor* ListPlans(grpc::CallbackServerContext* ctx,
                                      const drsim::v1::ListPlansRequest* req,
                                      drsim::v1::ListPlansResponse* resp) override;
  grpc::ServerUnaryReactor* GetPlan(grpc::CallbackServerContext* ctx,
                                    const drsim::v1::GetPlanRequest* req,
                                    drsim::v1::PlanInfo* resp) override;
  grpc::ServerUnaryReactor* RunPlan(grpc::CallbackServerContext* ctx,
                                    const drsim::v1::RunPlanRequest* req,
                                    drsim::v1::PlanInfo* resp) override;
  grpc::ServerUnaryReactor* ResumePlan(grpc::CallbackServerContext* ctx,
                                       const drsim::v1::ResumePlanRequest* req,
                                       drsim::v1::PlanInfo* resp) override;

 private:
  boost::asio::io_context& io_;
  SiteRecoveryDriver& driver_;
};

}  // namespace drsim::region
