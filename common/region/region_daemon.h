// Entry point shared by drsim-primary and drsim-secondary: parse flags, open
// the region store, serve Workload, Replication, RegionAdmin and Health on one
// port, run the loop until SIGTERM.
#pragma once

#include <string>

#include "common/model/replication/region_role.h"

namespace drsim::region {

struct DaemonDefaults {
  std::string program;       // "drsim-primary"
  std::string name;          // "primary"
  std::string peer_name;     // "secondary"
  model::Role initial_role;  // role on first start
};

int run_region_daemon(int argc, char** argv, const DaemonDefaults& defaults);

}  // namespace drsim::region
