// The region daemon's GET /metrics answer: what RegionNode (GetStatus) and the RPC counters know,
// formatted in the Prometheus text format. Metric names and units: docs/trafficmgr.md, "Metrics".
#pragma once

#include "common/net/health_service.h"
#include "common/net/http_server.h"
#include "common/net/rpc_counters.h"
#include "common/region/region_node.h"

namespace drsim::region {

// GET /metrics: the GetStatus facts and the RPC counters in Prometheus text format.
net::HttpResponse metrics_response(RegionNode& node, net::HealthService& health,
                                   const net::RpcCounters& rpcs);

}  // namespace drsim::region
