// The region daemon's GET /metrics answer: what RegionNode (GetStatus, write-to-ack histograms),
// the RPC counters, the Site Recovery vault and the Backup vaults know (each driver gathers its
// own figures), formatted in the Prometheus text format. Names and units: docs/trafficmgr.md,
// "Metrics".
#pragma once

#include "common/net/health_service.h"
#include "common/net/http_server.h"
#include "common/net/rpc_counters.h"
#include "common/region/backup_driver.h"
#include "common/region/region_node.h"
#include "common/region/site_recovery_driver.h"

namespace drsim::region {

// GET /metrics, on the loop thread.
net::HttpResponse metrics_response(RegionNode& node, net::HealthService& health,
                                   const net::RpcCounters& rpcs,
                                   const SiteRecoveryDriver& site_recovery,
                                   const BackupDriver& backup);

}  // namespace drsim::region
