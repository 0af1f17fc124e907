// Blocking gRPC calls the CLI makes to the daemons, each with a deadline.
#pragma once

#include <chrono>
#include <string>

#include "common/core/status.h"
#include "drsim/v1/admin.pb.h"
#include "drsim/v1/trafficmgr.pb.h"

namespace drsim::cli {

inline constexpr std::chrono::milliseconds kAdminDeadline{2000};

Result<drsim::v1::GetStatusResponse> region_status(const std::string& address,
                                                   bool reset_lag_stats = false);
Result<drsim::v1::FailoverResponse> region_failover(const std::string& address,
                                                    const std::string& reason);
Status region_set_outage(const std::string& address, bool outage);
Status region_set_peer(const std::string& address, const std::string& peer);
Result<drsim::v1::ListEndpointsResponse> tm_endpoints(const std::string& address,
                                                      const std::string& profile);
Result<drsim::v1::ResolveResponse> tm_resolve(const std::string& address,
                                              const std::string& profile);

const char* role_label(drsim::v1::RegionRole role);
const char* endpoint_status_label(drsim::v1::EndpointStatus status);

}  // namespace drsim::cli
