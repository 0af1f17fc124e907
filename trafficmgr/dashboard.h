// Dashboard: the Traffic Manager's web face (--dashboard-listen). Serves GET / (a
// self-contained page, dashboard_page.h), GET /api/state (what the page polls: endpoints,
// route, routing events, each region's role, epoch and replication lag, its Site Recovery items
// and jobs and its Backup vaults) and GET /metrics
// (Prometheus). Handlers run on the loop thread and read the driver's state directly.
#pragma once

#include <string>

#include "common/net/http_server.h"
#include "trafficmgr/region_status_poller.h"
#include "trafficmgr/traffic_manager.h"

namespace drsim::trafficmgr {

class Dashboard {
 public:
  // The page shows this many routing events, newest first.
  static constexpr size_t kRecentEvents = 20;
  // ... and this many Site Recovery jobs per region, newest first.
  static constexpr size_t kRecentJobs = 8;

  // `regions` may be null (no --region-admin). Both must outlive the routes.
  Dashboard(TrafficManager& traffic_manager, const RegionStatusPoller* regions);

  net::HttpRoutes routes();

  // Loop thread.
  std::string state_json() const;
  std::string metrics_text() const;

 private:
  TrafficManager& tm_;
  const RegionStatusPoller* regions_;
};

}  // namespace drsim::trafficmgr
