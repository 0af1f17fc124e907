// drsim-primary: the primary-region daemon. Active on first start.
#include "common/region/region_daemon.h"

int main(int argc, char** argv) {
  return drsim::region::run_region_daemon(
      argc, argv, {"drsim-primary", "primary", "secondary", drsim::model::Role::kActive});
}
