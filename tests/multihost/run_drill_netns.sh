#!/usr/bin/env bash
# One drill across network namespaces: run_drill_netns.sh DRSIM DRILL WORK SUBNET|- [demo]
# Runs `drsim drill run DRILL --placement netns --subnet SUBNET` (SUBNET "-": the drill's own
# placement), or with `demo` `drsim demo --config DRILL` (a topology file); checks the exit code,
# that each daemon ran in its own namespace at an address of the subnet, and that nothing of the
# topology's network is left afterwards. Cleans up by name on any exit.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/netns_lib.sh"
drsim="$1" file="$2" work="$3" subnet="$4" mode="${5:-drill}"
start_netns_test "$drsim" "$work"
if [ "$mode" = demo ]; then
  timeout 200 "$drsim" demo --config "$file" --home "$home" --warmup 2 --after 2 2>&1 |
    tee "$work/output.txt"
else
  args=(drill run "$file" --home "$home" --junit "$work/junit.xml")
  [ "$subnet" != "-" ] && args+=(--placement netns --subnet "$subnet")
  timeout 200 "$drsim" "${args[@]}" 2>&1 | tee "$work/output.txt"
fi
got=${PIPESTATUS[0]}
if [ "$got" -ne 0 ]; then
  echo "FAIL: $file exited $got across namespaces"
  exit 1
fi
for d in primary secondary trafficmgr faultproxy; do
  if ! grep -qE "netns drsim-$tag-$d\b" "$work/output.txt"; then
    echo "FAIL: the output does not say $d ran in namespace drsim-$tag-$d"
    exit 1
  fi
done
if ! grep -qE "network namespaces 4 on bridge drs${tag}br" "$work/output.txt"; then
  echo "FAIL: the output does not name the bridge drs${tag}br"
  exit 1
fi
if [ "$mode" != demo ] && ! grep -q "\"  primary     netns drsim-$tag-primary " "$home/report.json"; then
  echo "FAIL: report.json does not say where the primary ran"
  exit 1
fi
expect_nothing_left "$home" "the run" || exit 1
echo "ok: $file passed across namespaces"
