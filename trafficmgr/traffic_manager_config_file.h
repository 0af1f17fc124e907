// The Traffic Manager's --config file: several profiles, each with its routing method, monitor
// settings and endpoints (region, external or nested), plus the client locations and latency
// table routing reads. YAML; every error names the file, the field and why
// ("tm.yaml:14: profiles[1].endpoints[0].weight: 0 is out of range 1..1000").
// Format: docs/trafficmgr.md, "Configuration file".
#pragma once

#include <string>

#include "common/core/status.h"
#include "trafficmgr/traffic_manager_config.h"

namespace drsim::trafficmgr {

// `source` names the file in errors. The result is validated (TrafficManagerConfig::validate).
Result<TrafficManagerConfig> parse_traffic_manager_config(const std::string& text,
                                                          const std::string& source);
Result<TrafficManagerConfig> load_traffic_manager_config(const std::string& path);

}  // namespace drsim::trafficmgr
