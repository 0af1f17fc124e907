#!/usr/bin/env bash
# drsim's failover RTO against Redis Sentinel's on this machine, interleaved in one run: per
# round, a SIGKILL of the primary / master and a SIGSTOP (freeze) of it, each on a fresh
# topology; prints each measurement, then the medians and the drsim / Sentinel ratio per row.
# See docs/benchmarks.md for what each side measures and for results.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/vs_sentinel.sh [--rounds N] [--faults "kill freeze"] [--probe-ms MS]
                            [--tolerated N] [--ttl-ms MS] [--down-after-ms MS]
                            [--client-deadline-ms MS] [--build DIR] [--out FILE]

Per round and fault, interleaved:
  drsim     drsim-bench --only rto --rto-runs 1: a real topology (sync workloads, mTLS), ~400
            writes/s through the Traffic Manager's answer; the primary is killed (or frozen), the
            bench fails over to the secondary once the Traffic Manager marks the primary
            Degraded; RTO = the first write the secondary acknowledges - the fault.
  sentinel  bench/sentinel_rto.py: Redis master + replica + one Sentinel (quorum 1,
            down-after-milliseconds MS), ~400 SETs/s from a client that asks the Sentinel where
            the master is after every failed write; RTO = the first SET the promoted replica
            acknowledges - the fault.
Detection is set to about the same on both sides: drsim's (tolerated + 1) probes, probe-ms
apart, against the Sentinel's down-after-milliseconds.

  --rounds N        rounds (default 3); medians are over rounds
  --faults LIST     kill and/or freeze (default "kill freeze")
  --probe-ms MS     drsim's probe interval (default 250)
  --tolerated N     drsim's tolerated failed probes (default 3: Degraded on the 4th, ~1 s)
  --ttl-ms MS       drsim's answer TTL (default 500, the topology default)
  --down-after-ms   the Sentinel's down-after-milliseconds (default 1000)
  --client-deadline-ms MS  both sides' clients give up on a call after MS (default 1000, the
                    deadline of `drsim load`); under a freeze it bounds how long a client waits
                    on the frozen side
  --build DIR       drsim build dir (default build)
  --out FILE        raw results, one TSV line per measurement (default /tmp/vs_sentinel.tsv)
  --summarize FILE  only print the table of an earlier run's --out file
  --help            this text
EOF
}

summarize() {
  python3 - "$1" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rnd, system, fault, rto = line.rstrip("\n").split("\t")
    rows.setdefault(fault, {}).setdefault(system, {})[rnd] = float(rto)
print("| fault | drsim RTO ms (median) | Sentinel RTO ms (median) | ratio of medians "
      "| median of per-round ratios |")
print("|---|---|---|---|---|")
for fault in sorted(rows):
    d, s = rows[fault].get("drsim", {}), rows[fault].get("sentinel", {})
    dm = statistics.median(d.values()) if d else 0
    sm = statistics.median(s.values()) if s else 0
    same = [d[k] / s[k] for k in d if s.get(k)]
    print(f"| {fault} ({len(same)} rounds) | {dm:,.0f} | {sm:,.0f} | {dm / sm if sm else 0:.2f} "
          f"| {statistics.median(same) if same else 0:.2f} |")
EOF
}

rounds=3 faults="kill freeze" probe=250 tolerated=3 ttl=500 down_after=1000 deadline=1000
build=build
out=/tmp/vs_sentinel.tsv
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --faults) faults=$2; shift 2 ;;
    --probe-ms) probe=$2; shift 2 ;;
    --tolerated) tolerated=$2; shift 2 ;;
    --ttl-ms) ttl=$2; shift 2 ;;
    --down-after-ms) down_after=$2; shift 2 ;;
    --client-deadline-ms) deadline=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --summarize) summarize "$2"; exit 0 ;;
    --help|-h) usage; exit 0 ;;
    *) echo "vs_sentinel.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for f in $faults; do
  case "$f" in kill|freeze) ;; *) echo "--faults: kill and/or freeze, not '$f'" >&2; exit 2 ;; esac
done
here=$(cd "$(dirname "$0")" && pwd)
bench_bin="$build/bin/drsim-bench"
for tool in "$bench_bin" redis-server python3; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || {
    echo "vs_sentinel.sh: $tool not found (build drsim-bench; apt-get install redis-server)" >&2
    exit 2
  }
done
work=$(mktemp -d /tmp/vs-sentinel-XXXXXX)
trap 'rm -rf "$work"' EXIT

: >"$out"
record() {  # system fault rto_ms
  printf '%s\t%s\t%s\t%s\n' "$round" "$1" "$2" "$3" >>"$out"
  printf 'round %s  %-8s %-6s RTO %8.0f ms\n' "$round" "$1" "$2" "$3"
}

echo "vs_sentinel: $rounds rounds x [$faults]; drsim probe ${probe} ms, tolerated $tolerated," \
  "TTL ${ttl} ms; Sentinel down-after ${down_after} ms; clients' deadline ${deadline} ms;" \
  "$(nproc) cores shared with whatever else runs"
for round in $(seq "$rounds"); do
  for fault in $faults; do
    json="$work/drsim-$round-$fault.json"
    timeout 300 "$bench_bin" --only rto --rto-runs 1 --rto-fault "$fault" --rto-probe-ms "$probe" \
      --rto-probe-timeout-ms 100 --rto-tolerated "$tolerated" --rto-ttl-ms "$ttl" \
      --rto-client-deadline-ms "$deadline" --json "$json" \
      >"$work/drsim.log" 2>&1 || {
      echo "vs_sentinel.sh: drsim-bench failed:" >&2; cat "$work/drsim.log" >&2; exit 1; }
    rto=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["rto"][0]
print(r["rto_ms"] if r and r["rto_ms"] is not None else "")' "$json")
    [ -n "$rto" ] || { echo "vs_sentinel.sh: drsim-bench measured no RTO:" >&2; cat "$work/drsim.log" >&2; exit 1; }
    record drsim "$fault" "$rto"
    rto=$(timeout 120 python3 "$here/sentinel_rto.py" --fault "$fault" --down-after-ms "$down_after" \
      --client-timeout-ms "$deadline" |
      python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["rto_ms"])')
    record sentinel "$fault" "$rto"
  done
done

echo
summarize "$out"
