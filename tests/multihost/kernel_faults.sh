#!/usr/bin/env bash
# Kernel link faults in a netns topology: kernel_faults.sh DRSIM WORK SUBNET
# up across namespaces; partition (nftables) on a probe link, 5 % loss (nftables) on the
# replication link, a rate limit (tc htb) on a client link's answers; `drsim status` says which
# mechanism each link uses; the rules exist only inside drsim's namespaces (the host's ruleset
# and qdiscs do not change); latency by the kernel is tc netem or a clear error (exit 2) where the
# kernel has none; heal removes every rule (no nft table, no qdisc beyond the default); down
# removes every namespace, veth and the bridge.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/netns_lib.sh"
drsim="$1" work="$2" subnet="$3"
start_netns_test "$drsim" "$work"
proxy_ns="drsim-$tag-faultproxy"
fail() { echo "FAIL: $*"; exit 1; }
run() { timeout 60 "$drsim" "$@" --home "$home"; }

host_rules_before=$(nft list ruleset 2>&1 | md5sum)
host_qdisc_before=$(tc qdisc show 2>&1 | grep -v "drs$tag" | md5sum)
cat > "$work/topology.yaml" <<YAML
placement: { kind: netns, subnet: $subnet }
workloads: [ { name: vm-db, mode: async } ]
YAML
run up --config "$work/topology.yaml" > "$work/up.txt" 2>&1 || { cat "$work/up.txt"; fail "up"; }
cat "$work/up.txt"

run inject partition --link probe.secondary --direction down --mechanism kernel || fail "partition"
run inject loss --link replication --percent 5 || fail "loss"
run inject bandwidth --link client.primary --direction down --bytes-per-second 200000 \
  --mechanism kernel || fail "bandwidth"
run status > "$work/status.txt" 2>&1 || { cat "$work/status.txt"; fail "status"; }
cat "$work/status.txt"
grep -E "^probe.secondary .* nftables +nftables down: partition" "$work/status.txt" ||
  fail "status does not list the partition on probe.secondary as nftables"
grep -E "^repl.primary-secondary .* nftables +nftables up: loss 5 %; down: loss 5 %" \
  "$work/status.txt" || fail "status does not list the loss on repl.primary-secondary"
grep -E "^client.primary .* tc +tc down: rate 200000 B/s" "$work/status.txt" ||
  fail "status does not list the rate limit on client.primary as tc"
grep -E "^client.secondary .* proxy +-" "$work/status.txt" || fail "a clean link is not 'proxy'"
grep -E "^  primary +netns drsim-$tag-primary +[0-9.]+:[0-9]+" "$work/status.txt" ||
  fail "status does not say where the primary runs"

ruleset=$(ip netns exec "$proxy_ns" nft list ruleset)
echo "$ruleset"
echo "$ruleset" | grep -q "numgen random mod 100 < 5 drop" || fail "no loss rule in $proxy_ns"
echo "$ruleset" | grep -q "reject with tcp reset" || fail "no partition rule in $proxy_ns"
ip netns exec "$proxy_ns" tc qdisc show dev eth0 | grep -q "htb 1: root" ||
  fail "no htb root qdisc in $proxy_ns"
ip netns exec "$proxy_ns" tc class show dev eth0 | grep -q "rate 1600Kbit" ||
  fail "the class does not shape at 200000 B/s (1600 kbit)"
[ "$(nft list ruleset 2>&1 | md5sum)" = "$host_rules_before" ] || fail "the host's nftables ruleset changed"
[ "$(tc qdisc show 2>&1 | grep -v "drs$tag" | md5sum)" = "$host_qdisc_before" ] ||
  fail "a host qdisc changed"

# Kernel latency needs tc netem: applied where the kernel has it, a clear error (exit 2) where not.
if ip netns exec "$proxy_ns" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
  ip netns exec "$proxy_ns" tc qdisc del dev lo root
  run inject latency --link probe.primary --direction down --latency-ms 50 --mechanism kernel ||
    fail "latency with netem present"
  ip netns exec "$proxy_ns" tc qdisc show dev eth0 | grep -q netem || fail "no netem qdisc"
else
  out=$(run inject latency --link repl.primary-secondary --latency-ms 50 --mechanism kernel 2>&1)
  rc=$?
  echo "$out"
  [ "$rc" -eq 2 ] || fail "latency without netem exited $rc, expected 2"
  echo "$out" | grep -qF "latency 50±0 ms (kernel: tc) on repl.primary-secondary (both ways): tc netem is not available on this kernel" ||
    fail "the error does not name the fault and netem"
fi

run heal > "$work/heal.txt" 2>&1 || { cat "$work/heal.txt"; fail "heal"; }
cat "$work/heal.txt"
grep -q "kernel rules removed: client.primary, probe.secondary, repl.primary-secondary, repl.secondary-primary" \
  "$work/heal.txt" || fail "heal does not say which kernel rules it removed"
for ns in primary secondary trafficmgr faultproxy; do
  [ -z "$(ip netns exec "drsim-$tag-$ns" nft list tables)" ] || fail "an nft table is left in $ns"
  if ip netns exec "drsim-$tag-$ns" tc qdisc show dev eth0 | grep -qE "htb|netem|tbf"; then
    fail "a qdisc is left on eth0 in $ns: $(ip netns exec "drsim-$tag-$ns" tc qdisc show dev eth0)"
  fi
done
echo "ok: heal left no nft table and no qdisc beyond the default"
run status | grep -E "^repl.primary-secondary .* proxy +-" || fail "status after heal"

# A kernel partition stops replication for real: the async workload's lag grows while the
# replication link drops every packet (nftables, blackhole), and catches up after the heal.
run inject partition --link repl.primary-secondary --mode blackhole --mechanism kernel ||
  fail "kernel partition of the replication link"
run load --rate 100 --duration 2 --json > "$work/load.json" 2> "$work/load.err" || {
  cat "$work/load.err"; fail "load"; }
run status > "$work/partitioned.txt" 2>&1
grep -E "^primary .*vm-db\(async\) seq [0-9]+ lag [1-9][0-9]* writes" "$work/partitioned.txt" ||
  { cat "$work/partitioned.txt"; fail "no replication lag while the kernel drops the link"; }
run heal --link repl.primary-secondary > /dev/null || fail "heal of the partition"
caught_up=""
for _ in $(seq 1 40); do
  run status > "$work/healed.txt" 2>&1
  if grep -qE "^primary .*vm-db\(async\) seq [0-9]+ lag 0 writes.*\[streaming\]" "$work/healed.txt"; then
    caught_up=yes
    break
  fi
  sleep 0.5
done
[ -n "$caught_up" ] || { cat "$work/healed.txt"; fail "replication did not catch up within 20 s of the heal"; }
echo "ok: the kernel partition stopped replication (lag grew) and the heal let it catch up"

run down || fail "down"
expect_nothing_left "$home" "down" || exit 1
[ ! -f "$home/topology.json" ] || fail "topology.json is left"
echo "ok: kernel faults applied inside the namespaces and removed by heal and down"
