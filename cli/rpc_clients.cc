#include "cli/rpc_clients.h"

#include "common/net/grpc_util.h"
#include "drsim/v1/admin.grpc.pb.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"

namespace drsim::cli {

using namespace drsim::v1;

namespace {
template <typename Stub>
std::unique_ptr<typename Stub::Stub> stub_for(const std::string& address) {
  return Stub::NewStub(net::make_channel(address));
}
Status named(const grpc::Status& s, const std::string& what, const std::string& address) {
  if (s.ok()) return Status::ok();
  return Status(static_cast<StatusCode>(s.error_code()),
                what + " at " + address + ": " + s.error_message());
}
}  // namespace

Result<GetStatusResponse> region_status(const std::string& address, bool reset_lag_stats) {
  auto stub = stub_for<RegionAdmin>(address);
  grpc::ClientContext ctx;
  net::set_deadline(ctx, kAdminDeadline);
  GetStatusRequest req;
  req.set_reset_lag_stats(reset_lag_stats);
  GetStatusResponse resp;
  if (Status s = named(stub->GetStatus(&ctx, req, &resp), "status", address); !s.is_ok()) return s;
  return resp;
}

Result<FailoverResponse> region_failover(const std::string& address, const std::string& reason) {
  auto stub = stub_for<RegionAdmin>(address);
  grpc::ClientContext ctx;
  net::set_deadline(ctx, kAdminDeadline);
  FailoverRequest req;
  req.set_reason(reason);
  FailoverResponse resp;
  if (Status s = named(stub->Failover(&ctx, req, &resp), "failover", address); !s.is_ok()) return s;
  return resp;
}

Status region_set_outage(const std::string& address, bool outage) {
  auto stub = stub_for<RegionAdmin>(address);
  grpc::ClientContext ctx;
  net::set_deadline(ctx, kAdminDeadline);
  SetOutageRequest req;
  req.set_outage(outage);
  SetOutageResponse resp;
  return named(stub->SetOutage(&ctx, req, &resp), "set outage", address);
}

Status region_set_peer(const std::string& address, const std::string& peer) {
  auto stub = stub_for<RegionAdmin>(address);
  grpc::ClientContext ctx;
  net::set_deadline(ctx, kAdminDeadline);
  SetPeerRequest req;
  req.set_peer_address(peer);
  SetPeerResponse resp;
  return named(stub->SetPeer(&ctx, req, &resp), "set peer", address);
}

Result<ListEndpointsResponse> tm_endpoints(const std::string& address,
                                           const std::string& profile) {
  auto stub = stub_for<TrafficManager>(address);
  grpc::ClientContext ctx;
  net::set_deadline(ctx, kAdminDeadline);
  ListEndpointsRequest req;
  req.set_profile(profile);
  ListEndpointsResponse resp;
  if (Status s = named(stub->ListEndpoints(&ctx, req, &resp), "list endpoints", address);
      !s.is_ok()) {
    return s;
  }
  return resp;
}

Result<ResolveResponse> tm_resolve(const std::string& address, const std::string& profile) {
  auto stub = stub_for<TrafficManager>(address);
  grpc::ClientContext ctx;
  net::set_deadline(ctx, kAdminDeadline);
  ResolveRequest req;
  req.set_profile(profile);
  ResolveResponse resp;
  if (Status s = named(stub->Resolve(&ctx, req, &resp), "resolve", address); !s.is_ok()) return s;
  return resp;
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
