// Who may call what: the one table of drsim's RPCs and the identities allowed to call each
// (docs/security.md, "who may call what"). Pure: the gRPC edge (common/net/rpc_authorizer.h)
// reads the caller's certificate and asks check_rpc_access.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"

namespace drsim {

enum class RpcCallers {
  kAnyIdentity,  // any certificate of the topology's CA: read-only calls, Workload, health
  kOperator,     // the `operator` identity: every call that changes state
  kPeerRegion,   // the configured peer region: replication, fencing, hand-over, geo backup
  kRegion,       // either region of the topology: the lease witness's RenewLease / FenceLease
};

struct RpcRule {
  std::string_view method;  // "/drsim.v1.RegionAdmin/Failover"
  RpcCallers callers;
};

// Every RPC drsim serves, with who may call it.
const std::vector<RpcRule>& rpc_rules();
// The rule of `method` (a full gRPC method path); nullopt when drsim serves no such RPC.
std::optional<RpcCallers> rpc_callers(std::string_view method);

// What the callee knows to judge a caller.
struct RpcAccessContext {
  std::string peer_region;           // a region daemon's --peer-name; empty elsewhere
  std::vector<std::string> regions;  // the topology's regions ("primary", "secondary")
};

// OK when `caller` (the CN of its certificate) may call `method`; else PERMISSION_DENIED
// "<method>: caller '<caller>' may not call it (allowed: <who>)".
Status check_rpc_access(std::string_view method, std::string_view caller,
                        const RpcAccessContext& context);

// A request that names its sender's region in its body (a replication Hello, a peer fence, a
// Site Recovery hand-over, a lease renewal or fence at the witness) must name the region of the
// caller's certificate: else PERMISSION_DENIED "<field>: claims region '<claimed>' but the
// caller's certificate is '<caller>'". An empty `caller` is plain TCP (--insecure, loopback
// tests): nobody is identified and the claim is taken as it is.
Status check_claimed_region(std::string_view field, std::string_view claimed,
                            std::string_view caller);

}  // namespace drsim
