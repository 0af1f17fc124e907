#!/usr/bin/env bash
# Bad input to `placement: netns`: bad_input.sh DRSIM WORK
# Each is a clear error naming the field, exit 2, and nothing left behind: not root (a real
# non-root user, via setpriv), plain TCP with netns, a subnet the host already routes, a malformed
# subnet, kernel faults on a loopback topology. Then Ctrl-C in the middle of `up` removes what it
# had created.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/netns_lib.sh"
drsim="$1" work="$2"
require_netns
rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"
homes=()
trap 'for h in "${homes[@]}"; do netns_cleanup "$drsim" "$h"; done' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect_error NAME EXPECTED_TEXT COMMAND...: exit 2, the text on stderr, nothing left.
expect_error() {
  local name="$1" text="$2"
  shift 2
  local home="$work/$name/home"
  homes+=("$home")
  mkdir -p "$work/$name"
  chmod 777 "$work/$name"
  timeout 60 "$@" --home "$home" > "$work/$name/out.txt" 2> "$work/$name/err.txt"
  local rc=$?
  echo "$name: exit $rc: $(cat "$work/$name/err.txt")"
  [ "$rc" -eq 2 ] || fail "$name exited $rc, expected 2"
  grep -qF -- "$text" "$work/$name/err.txt" || fail "$name: the error does not say '$text'"
  expect_nothing_left "$home" "$name" || exit 1
  [ ! -f "$home/topology.json" ] || fail "$name left $home/topology.json"
}

write_topology() {  # FILE PLACEMENT-LINE [TRANSPORT]
  printf '%s\nsecurity: { transport: %s }\n' "$2" "${3:-mtls}" > "$1"
  chmod 644 "$1"
}

# The non-root user needs to reach the binary, the file and the home: the build tree may sit
# under a directory only root can enter (a clone in a mktemp -d), so they go to one of their own.
nonroot="$(mktemp -d /tmp/drsim-nonroot.XXXXXX)"
trap 'for h in "${homes[@]}"; do netns_cleanup "$drsim" "$h"; done; rm -rf "$nonroot"' EXIT
chmod 755 "$nonroot"
cp "$drsim" "$nonroot/drsim"
write_topology "$nonroot/ok.yaml" "placement: { kind: netns, subnet: 10.213.21.0/24 }"
if command -v setpriv >/dev/null 2>&1; then
  saved_work="$work" work="$nonroot"
  expect_error not-root "ok.yaml:1: placement: netns needs root" \
    setpriv --reuid=65534 --regid=65534 --clear-groups env -C "$nonroot" "$nonroot/drsim" up \
    --config "$nonroot/ok.yaml"
  work="$saved_work"
else
  fail "setpriv (util-linux) is needed to check the non-root error"
fi

write_topology "$work/insecure.yaml" "placement: netns" insecure
expect_error insecure "insecure.yaml:2: security.transport: insecure (plain TCP) is loopback only" \
  "$drsim" up --config "$work/insecure.yaml"

# 127.0.0.0/8 is always a route of the host's local table.
write_topology "$work/overlap.yaml" "placement: { kind: netns, subnet: 127.0.1.0/24 }"
expect_error overlap "overlap.yaml:1: placement.subnet: 127.0.1.0/24 overlaps the host's route 'local 127.0.0.0/8" \
  "$drsim" up --config "$work/overlap.yaml"

write_topology "$work/malformed.yaml" "placement: { kind: netns, subnet: 10.213.300.0/24 }"
expect_error malformed "malformed.yaml:1: placement.subnet: '10.213.300.0/24' is not an IPv4 network" \
  "$drsim" up --config "$work/malformed.yaml"

expect_error subnet-without-netns "--subnet: applies to --placement netns only" \
  "$drsim" drill run "$here/../../deploy/drills/region-outage-kill.yaml" --subnet 10.213.22.0/24

# A drill asking the kernel for what the topology or host cannot do: refused before its load,
# exit 2, and its topology brought down. Kernel faults on a loopback topology never can; kernel
# latency needs tc netem (this machine has none; where the kernel has it the drill runs).
write_drill() {  # FILE PLACEMENT-LINE FAULT-LINE
  printf 'name: kernel\ntopology:\n  %s\n  workloads: [{name: vm-db, mode: async}]\nworkload: { rate: 50, clients: 2 }\nsteps:\n  - wait: 1s\n  - inject: %s\nexpect: { final_routing: primary }\n' \
    "$2" "$3" > "$1"
}
write_drill "$work/loopback-kernel.yaml" "placement: loopback" \
  "{ fault: partition, link: replication, mechanism: kernel }"
expect_error loopback-kernel "loopback-kernel.yaml:8: steps[1].inject.mechanism: kernel faults are applied only inside drsim's network namespaces" \
  "$drsim" drill run "$work/loopback-kernel.yaml"
write_drill "$work/netem.yaml" "placement: { kind: netns, subnet: 10.213.25.0/24 }" \
  "{ fault: latency, link: replication, latency_ms: 50, mechanism: kernel }"
probe="drsim-netem-$$"
ip netns add "$probe"
if ip netns exec "$probe" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
  ip netns del "$probe"
  timeout 120 "$drsim" drill run "$work/netem.yaml" --home "$work/netem-home" ||
    fail "kernel latency with tc netem present"
  homes+=("$work/netem-home")
  expect_nothing_left "$work/netem-home" "the netem drill" || exit 1
else
  ip netns del "$probe"
  expect_error netem "netem.yaml:8: steps[1].inject.mechanism (latency 50±0 ms (kernel: tc) on replication (both ways)): tc netem is not available on this kernel" \
    "$drsim" drill run "$work/netem.yaml"
fi

# An `up` that fails after its namespaces exist (here: no daemon binaries where it looks) removes
# them again and keeps no topology.json.
home="$work/failed-up/home"
homes+=("$home")
mkdir -p "$work/failed-up"
write_topology "$work/failed-up.yaml" "placement: { kind: netns, subnet: 10.213.24.0/24 }"
DRSIM_BIN_DIR="$work/no-binaries-here" timeout 60 "$drsim" up --config "$work/failed-up.yaml" \
  --home "$home" > "$work/failed-up/out.txt" 2>&1
rc=$?
cat "$work/failed-up/out.txt"
[ "$rc" -ne 0 ] || fail "up without daemon binaries succeeded"
grep -q "network namespaces 4 on bridge" "$work/failed-up/out.txt" ||
  fail "the failed up did not get as far as creating its namespaces"
expect_nothing_left "$home" "a failed up" || exit 1
[ ! -f "$home/topology.json" ] || fail "the failed up left $home/topology.json"

# Ctrl-C while `up` runs: the interrupt removes the namespaces it had made.
home="$work/interrupt/home"
homes+=("$home")
mkdir -p "$work/interrupt"
write_topology "$work/interrupt.yaml" "placement: { kind: netns, subnet: 10.213.23.0/24 }"
tag=$(netns_tag "$home")
timeout 60 "$drsim" up --config "$work/interrupt.yaml" --home "$home" > "$work/interrupt/out.txt" 2>&1 &
pid=$!
# Once the secondary runs in its namespace (the fault proxy before it).
for _ in $(seq 1 300); do
  [ -s "$home/secondary/ready.json" ] && break
  sleep 0.05
done
[ -s "$home/secondary/ready.json" ] || fail "up did not start the secondary within 15 s"
kill -INT "$pid"
wait "$pid"
rc=$?
cat "$work/interrupt/out.txt"
[ "$rc" -eq 130 ] || fail "interrupted up exited $rc, expected 130"
grep -q "stopping [1-9] process(es)" "$work/interrupt/out.txt" || fail "the interrupt stopped no daemon"
expect_nothing_left "$home" "Ctrl-C during up" || exit 1
echo "ok: every bad input was refused with exit 2 and left nothing behind"
