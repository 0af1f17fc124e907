#include "cli/rpc_clients.h"

#include "common/net/grpc_util.h"
#include "drsim/v1/admin.grpc.pb.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"

namespace drsim::cli {

using namespace drsim::v1;

namespace {

// One unary call with the admin deadline; the error names the call and the
// address it went to.
template <typename Service, typename Request, typename Response>
Result<Response> unary(const std::string& address, const std::string& what,
                       grpc::Status (Service::Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                       const Request& req) {
  auto stub = Service::NewStub(net::make_channel(address));
  grpc::ClientContext ctx;
  net::set_deadline(ctx, kAdminDeadline);
  Response resp;
  grpc::Status s = ((*stub).*method)(&ctx, req, &resp);
  if (!s.ok()) {
    return Status(static_cast<StatusCode>(s.error_code()),
                  what + " at " + address + ": " + s.error_message());
  }
  return resp;
}

}  // namespace

Result<GetStatusResponse> region_status(const std::string& address, bool reset_lag_stats) {
  GetStatusRequest req;
  req.set_reset_lag_stats(reset_lag_stats);
  return unary<RegionAdmin>(address, "status", &RegionAdmin::Stub::GetStatus, req);
}

Result<FailoverResponse> region_failover(const std::string& address, const std::string& reason) {
  FailoverRequest req;
  req.set_reason(reason);
  return unary<RegionAdmin>(address, "failover", &RegionAdmin::Stub::Failover, req);
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

Result<ListEndpointsResponse> tm_endpoints(const std::string& address,
                                           const std::string& profile) {
  ListEndpointsRequest req;
  req.set_profile(profile);
  return unary<TrafficManager>(address, "list endpoints", &TrafficManager::Stub::ListEndpoints,
                               req);
}

Result<ResolveResponse> tm_resolve(const std::string& address, const std::string& profile) {
  ResolveRequest req;
  req.set_profile(profile);
  return unary<TrafficManager>(address, "resolve", &TrafficManager::Stub::Resolve, req);
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
