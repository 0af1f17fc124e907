// Blocking gRPC calls the CLI makes to the daemons, each with a deadline.
#pragma once

#include <chrono>
#include <string>

#include "common/core/status.h"
#include "cli/operator_transport.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/admin.pb.h"
#include "drsim/v1/faultproxy.pb.h"
#include "drsim/v1/siterecovery.pb.h"
#include "drsim/v1/trafficmgr.pb.h"

namespace drsim::cli {

inline constexpr std::chrono::milliseconds kAdminDeadline{2000};

// What a unary_call failure's message starts with: "WHAT at ADDRESS: ", then the server's words.
inline std::string call_prefix(const std::string& what, const std::string& address) {
  return what + " at " + address + ": ";
}
// A unary_call failure's message without call_prefix: the server's own words (all of the message
// when it does not start with the prefix).
inline std::string server_words(const Status& failed, const std::string& what,
                                const std::string& address) {
  const std::string prefix = call_prefix(what, address);
  const std::string& m = failed.message();
  return m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m;
}

// One blocking unary call with a deadline; the error names the call and the address it went to.
template <typename Service, typename Request, typename Response>
Result<Response> unary_call(const std::string& address, const std::string& what,
                            grpc::Status (Service::Stub::*method)(grpc::ClientContext*,
                                                                  const Request&, Response*),
                            const Request& req,
                            std::chrono::milliseconds deadline = kAdminDeadline) {
  auto stub = Service::NewStub(operator_channel(address));
  grpc::ClientContext ctx;
  net::set_deadline(ctx, deadline);
  Response resp;
  grpc::Status s = ((*stub).*method)(&ctx, req, &resp);
  if (!s.ok()) {
    return Status(static_cast<StatusCode>(s.error_code()),
                  call_prefix(what, address) + s.error_message() +
                      (s.error_code() == grpc::StatusCode::UNAVAILABLE
                           ? expected_server_note(address)
                           : ""));
  }
  return resp;
}

Result<drsim::v1::GetStatusResponse> region_status(
    const std::string& address, bool reset_lag_stats = false,
    std::chrono::milliseconds deadline = kAdminDeadline);
// Whether a failover may promote without the lease witness's answer (waiting a full lease).
enum class WitnessCheck { kRequire, kForceWithout };
// Answers once the old active region's lease has expired and the region is promoted.
Result<drsim::v1::FailoverResponse> region_failover(
    const std::string& address, const std::string& reason,
    WitnessCheck witness = WitnessCheck::kRequire);
// Re-protect on the active region: answers when the standby holds the active region's state.
Result<drsim::v1::ReprotectResponse> region_reprotect(const std::string& address,
                                                      const std::string& reason,
                                                      std::chrono::milliseconds deadline);
// Planned failover on the standby: the active region stops writes, drains, hands over.
Result<drsim::v1::PlannedFailoverResponse> region_planned_failover(const std::string& address,
                                                                   const std::string& reason,
                                                                   uint32_t drain_timeout_ms,
                                                                   bool reprotect);
// Site Recovery vault of a region (proto/drsim/v1/siterecovery.proto).
Result<drsim::v1::ProtectItemResponse> sr_protect(const std::string& address,
                                              const drsim::v1::ProtectItemRequest& req);
Result<drsim::v1::ListItemsResponse> sr_items(const std::string& address);
Result<drsim::v1::ListPointsResponse> sr_points(const std::string& address,
                                                const std::string& item);
Result<drsim::v1::UnplannedFailoverResponse> sr_unplanned_failover(
    const std::string& address, const drsim::v1::UnplannedFailoverRequest& req);
Result<drsim::v1::TestFailoverResponse> sr_test_failover(
    const std::string& address, const drsim::v1::TestFailoverRequest& req);
Result<drsim::v1::CleanupTestFailoverResponse> sr_cleanup_test_failover(
    const std::string& address, const std::string& item);
Result<drsim::v1::CommitResponse> sr_commit(const std::string& address,
                                            const drsim::v1::CommitRequest& req);
Result<drsim::v1::ReprotectItemsResponse> sr_reprotect_items(const std::string& address,
                                                             bool delta, bool check_only);
Result<drsim::v1::ListJobsResponse> sr_jobs(const std::string& address);
Result<drsim::v1::PlannedFailoverItemsResponse> sr_planned_failover_items(
    const std::string& address, const drsim::v1::PlannedFailoverItemsRequest& req);
Result<drsim::v1::ProtectItemResponse> sr_protect_group(const std::string& address,
                                                        const drsim::v1::ProtectGroupRequest& req);
Result<drsim::v1::ChangeRecoveryPointResponse> sr_change_point(
    const std::string& address, const drsim::v1::ChangeRecoveryPointRequest& req);
Result<drsim::v1::PlanInfo> sr_create_plan(const std::string& address,
                                           const drsim::v1::RecoveryPlanSpec& plan);
Result<drsim::v1::ListPlansResponse> sr_list_plans(const std::string& address);
Result<drsim::v1::PlanInfo> sr_get_plan(const std::string& address, const std::string& plan);
Result<drsim::v1::PlanInfo> sr_run_plan(const std::string& address,
                                        const drsim::v1::RunPlanRequest& req);
Result<drsim::v1::PlanInfo> sr_resume_plan(const std::string& address, const std::string& plan);

Status region_set_outage(const std::string& address, bool outage);
Status region_set_peer(const std::string& address, const std::string& peer);
// Where the region's lease witness (the Traffic Manager) listens.
Status region_set_witness(const std::string& address, const std::string& witness);
Status region_set_clock_offset(const std::string& address, int64_t offset_ms);
Status region_set_clock_drift(const std::string& address, int64_t drift_ppm);
Result<drsim::v1::ListEndpointsResponse> tm_endpoints(const std::string& address,
                                                      const std::string& profile);
Result<drsim::v1::ListProfilesResponse> tm_profiles(const std::string& address);
Result<drsim::v1::ResolveResponse> tm_resolve(const std::string& address,
                                              const std::string& profile);

// drsim-faultproxy: the links `drsim up` puts between the processes.
Result<std::string> fp_add_link(const std::string& address, const std::string& name,
                                const std::string& upstream);  // the link's listen address
Status fp_set_fault(const std::string& address, const drsim::v1::SetFaultRequest& req);
Result<uint32_t> fp_heal(const std::string& address, const std::string& link);  // "" = all
Result<drsim::v1::ListLinksResponse> fp_list_links(const std::string& address);

const char* role_label(drsim::v1::RegionRole role);
const char* endpoint_status_label(drsim::v1::EndpointStatus status);

}  // namespace drsim::cli
