#include "cli/rpc_clients.h"

#include "common/net/grpc_util.h"
#include "drsim/v1/admin.grpc.pb.h"
#include "drsim/v1/faultproxy.grpc.pb.h"
#include "drsim/v1/siterecovery.grpc.pb.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"

namespace drsim::cli {

using namespace drsim::v1;

namespace {

template <typename Service, typename Request, typename Response>
Result<Response> unary(const std::string& address, const std::string& what,
                       grpc::Status (Service::Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                       const Request& req, std::chrono::milliseconds deadline = kAdminDeadline) {
  return unary_call<Service>(address, what, method, req, deadline);
}

}  // namespace

Result<ProtectItemResponse> sr_protect(const std::string& address, const ProtectItemRequest& req) {
  return unary<SiteRecovery>(address, "protect", &SiteRecovery::Stub::Protect, req);
}

Result<ListItemsResponse> sr_items(const std::string& address) {
  return unary<SiteRecovery>(address, "list protected items", &SiteRecovery::Stub::ListItems,
                             ListItemsRequest());
}

Result<ListPointsResponse> sr_points(const std::string& address, const std::string& item) {
  ListPointsRequest req;
  req.set_item(item);
  return unary<SiteRecovery>(address, "list recovery points", &SiteRecovery::Stub::ListPoints,
                             req);
}

Result<UnplannedFailoverResponse> sr_unplanned_failover(const std::string& address,
                                                        const UnplannedFailoverRequest& req) {
  // Rolling back to a point reads the point's checkpoint: allow more than an admin call.
  return unary<SiteRecovery>(address, "unplanned failover", &SiteRecovery::Stub::UnplannedFailover,
                             req, std::chrono::milliseconds(30'000));
}

Result<TestFailoverResponse> sr_test_failover(const std::string& address,
                                              const TestFailoverRequest& req) {
  return unary<SiteRecovery>(address, "test failover", &SiteRecovery::Stub::TestFailover, req,
                             std::chrono::milliseconds(30'000));
}

Result<CleanupTestFailoverResponse> sr_cleanup_test_failover(const std::string& address,
                                                             const std::string& item) {
  CleanupTestFailoverRequest req;
  req.set_item(item);
  return unary<SiteRecovery>(address, "clean up test failover",
                             &SiteRecovery::Stub::CleanupTestFailover, req);
}

Result<CommitResponse> sr_commit(const std::string& address, const CommitRequest& req) {
  return unary<SiteRecovery>(address, "commit", &SiteRecovery::Stub::Commit, req);
}

Result<ReprotectItemsResponse> sr_reprotect_items(const std::string& address, bool delta,
                                                  bool check_only) {
  ReprotectItemsRequest req;
  req.set_delta(delta);
  req.set_check_only(check_only);
  return unary<SiteRecovery>(address, "re-protect items", &SiteRecovery::Stub::ReprotectItems,
                             req);
}

Result<PlannedFailoverItemsResponse> sr_planned_failover_items(
    const std::string& address, const PlannedFailoverItemsRequest& req) {
  return unary<SiteRecovery>(address, "planned failover of protected items",
                             &SiteRecovery::Stub::PlannedFailoverItems, req);
}

Result<ProtectItemResponse> sr_protect_group(const std::string& address,
                                             const ProtectGroupRequest& req) {
  return unary<SiteRecovery>(address, "protect group", &SiteRecovery::Stub::ProtectGroup, req);
}

Result<ChangeRecoveryPointResponse> sr_change_point(const std::string& address,
                                                    const ChangeRecoveryPointRequest& req) {
  return unary<SiteRecovery>(address, "change recovery point",
                             &SiteRecovery::Stub::ChangeRecoveryPoint, req);
}

Result<PlanInfo> sr_create_plan(const std::string& address, const RecoveryPlanSpec& plan) {
  CreatePlanRequest req;
  *req.mutable_plan() = plan;
  return unary<SiteRecovery>(address, "create plan", &SiteRecovery::Stub::CreatePlan, req);
}

Result<ListPlansResponse> sr_list_plans(const std::string& address) {
  return unary<SiteRecovery>(address, "list plans", &SiteRecovery::Stub::ListPlans,
                             ListPlansRequest());
}

Result<PlanInfo> sr_get_plan(const std::string& address, const std::string& plan) {
  GetPlanRequest req;
  req.set_plan(plan);
  return unary<SiteRecovery>(address, "show plan", &SiteRecovery::Stub::GetPlan, req);
}

Result<PlanInfo> sr_run_plan(const std::string& address, const RunPlanRequest& req) {
  return unary<SiteRecovery>(address, "run plan", &SiteRecovery::Stub::RunPlan, req);
}

Result<PlanInfo> sr_resume_plan(const std::string& address, const std::string& plan) {
  ResumePlanRequest req;
  req.set_plan(plan);
  return unary<SiteRecovery>(address, "resume plan", &SiteRecovery::Stub::ResumePlan, req);
}

Result<ListJobsResponse> sr_jobs(const std::string& address) {
  return unary<SiteRecovery>(address, "list jobs", &SiteRecovery::Stub::ListJobs,
                             ListJobsRequest());
}

Result<GetStatusResponse> region_status(const std::string& address, bool reset_lag_stats,
                                        std::chrono::milliseconds deadline) {
  GetStatusRequest req;
  req.set_reset_lag_stats(reset_lag_stats);
  return unary<RegionAdmin>(address, "status", &RegionAdmin::Stub::GetStatus, req, deadline);
}

Result<FailoverResponse> region_failover(const std::string& address, const std::string& reason,
                                         WitnessCheck witness) {
  FailoverRequest req;
  req.set_reason(reason);
  req.set_force_without_witness(witness == WitnessCheck::kForceWithout);
  // The region waits out the old lease (at most a lease × (1 + drift), 60 s at the most) first.
  return unary<RegionAdmin>(address, "failover", &RegionAdmin::Stub::Failover, req,
                            kAdminDeadline + std::chrono::milliseconds(63'000));
}

Result<ReprotectResponse> region_reprotect(const std::string& address, const std::string& reason,
                                           std::chrono::milliseconds deadline) {
  ReprotectRequest req;
  req.set_reason(reason);
  return unary<RegionAdmin>(address, "re-protect", &RegionAdmin::Stub::Reprotect, req, deadline);
}

Result<PlannedFailoverResponse> region_planned_failover(const std::string& address,
                                                        const std::string& reason,
                                                        uint32_t drain_timeout_ms,
                                                        bool reprotect) {
  PlannedFailoverRequest req;
  req.set_reason(reason);
  req.set_drain_timeout_ms(drain_timeout_ms);
  req.set_reprotect(reprotect);
  // The region drains for up to drain_timeout_ms before it answers.
  return unary<RegionAdmin>(address, "planned failover", &RegionAdmin::Stub::PlannedFailover, req,
                            kAdminDeadline + std::chrono::milliseconds(drain_timeout_ms));
}

Status region_set_outage(const std::string& address, bool outage) {
  SetOutageRequest req;
  req.set_outage(outage);
  return unary<RegionAdmin>(address, "set outage", &RegionAdmin::Stub::SetOutage, req).status();
}

Status region_set_peer(const std::string& address, const std::string& peer) {
  SetPeerRequest req;
  req.set_peer_address(peer);
  return unary<RegionAdmin>(address, "set peer", &RegionAdmin::Stub::SetPeer, req).status();
}

Status region_set_witness(const std::string& address, const std::string& witness) {
  SetWitnessRequest req;
  req.set_witness_address(witness);
  return unary<RegionAdmin>(address, "set witness", &RegionAdmin::Stub::SetWitness, req).status();
}

Status region_set_clock_offset(const std::string& address, int64_t offset_ms) {
  SetClockOffsetRequest req;
  req.set_offset_ms(offset_ms);
  return unary<RegionAdmin>(address, "set clock offset", &RegionAdmin::Stub::SetClockOffset, req)
      .status();
}

Status region_set_clock_drift(const std::string& address, int64_t drift_ppm) {
  SetClockDriftRequest req;
  req.set_drift_ppm(drift_ppm);
  return unary<RegionAdmin>(address, "set clock drift", &RegionAdmin::Stub::SetClockDrift, req)
      .status();
}

Result<ListEndpointsResponse> tm_endpoints(const std::string& address,
                                           const std::string& profile) {
  ListEndpointsRequest req;
  req.set_profile(profile);
  return unary<TrafficManager>(address, "list endpoints", &TrafficManager::Stub::ListEndpoints,
                               req);
}

Result<drsim::v1::ListProfilesResponse> tm_profiles(const std::string& address) {
  return unary<TrafficManager>(address, "list profiles", &TrafficManager::Stub::ListProfiles,
                               drsim::v1::ListProfilesRequest{});
}

Result<ResolveResponse> tm_resolve(const std::string& address, const std::string& profile) {
  ResolveRequest req;
  req.set_profile(profile);
  return unary<TrafficManager>(address, "resolve", &TrafficManager::Stub::Resolve, req);
}

Result<std::string> fp_add_link(const std::string& address, const std::string& name,
                                const std::string& upstream) {
  AddLinkRequest req;
  req.set_name(name);
  req.set_upstream(upstream);
  auto r = unary<FaultProxy>(address, "add link " + name, &FaultProxy::Stub::AddLink, req);
  if (!r.is_ok()) return r.status();
  return r->listen_address();
}

Status fp_set_fault(const std::string& address, const SetFaultRequest& req) {
  return unary<FaultProxy>(address, "set fault on link " + req.link(), &FaultProxy::Stub::SetFault,
                           req)
      .status();
}

Result<uint32_t> fp_heal(const std::string& address, const std::string& link) {
  HealRequest req;
  req.set_link(link);
  req.set_all(link.empty());
  auto r = unary<FaultProxy>(address, "heal", &FaultProxy::Stub::Heal, req);
  if (!r.is_ok()) return r.status();
  return r->healed_links();
}

Result<ListLinksResponse> fp_list_links(const std::string& address) {
  return unary<FaultProxy>(address, "list links", &FaultProxy::Stub::ListLinks,
                           ListLinksRequest{});
}

const char* role_label(RegionRole role) {
  switch (role) {
    case ROLE_ACTIVE: return "active";
    case ROLE_STANDBY: return "standby";
    default: return "?";
  }
}

const char* endpoint_status_label(EndpointStatus status) {
  switch (status) {
    case ENDPOINT_CHECKING: return "CheckingEndpoint";
    case ENDPOINT_ONLINE: return "Online";
    case ENDPOINT_DEGRADED: return "Degraded";
    default: return "?";
  }
}

}  // namespace drsim::cli
