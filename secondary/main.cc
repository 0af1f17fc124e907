// drsim-secondary: the secondary-region daemon. Standby on first start.
#include "common/region/region_daemon.h"

int main(int argc, char** argv) {
  return drsim::region::run_region_daemon(
      argc, argv, {"drsim-secondary", "secondary", "primary", drsim::model::Role::kStandby});
}
