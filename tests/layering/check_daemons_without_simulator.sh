#!/usr/bin/env bash
# The simulator (drsim_sim, common/sim) is linked by the drsim CLI and the sim tests, never by a
# daemon: no drsim::sim symbol in drsim-primary, drsim-secondary, drsim-trafficmgr or
# drsim-faultproxy. The drsim binary must have them, so the check cannot pass by finding nothing
# anywhere.
# Usage: check_daemons_without_simulator.sh BIN_DIR
set -u
bin=$1
if ! nm -C --defined-only "$bin/drsim" | grep -q 'drsim::sim::run_seed'; then
  echo "drsim has no drsim::sim::run_seed: the check would prove nothing"; exit 1
fi
rc=0
for d in drsim-primary drsim-secondary drsim-trafficmgr drsim-faultproxy; do
  n=$(nm -C --defined-only "$bin/$d" | grep -c 'drsim::sim::')
  if [ "$n" -ne 0 ]; then
    echo "$d links the simulator ($n drsim::sim symbols)"; rc=1
  else
    echo "$d: no simulator symbols"
  fi
done
exit $rc
