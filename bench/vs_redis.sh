#!/usr/bin/env bash
# drsim against Redis 7 (master + one replica) on this machine, interleaved in one run:
# replicated writes/s at CLIENTS clients x batch 256 / 16 / 1 with 100-byte values, async and
# sync, ROUNDS rounds; prints each measurement, then the medians and the drsim / Redis ratio per
# row. See docs/benchmarks.md for what each side measures and for results.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/vs_redis.sh [--rounds N] [--seconds S] [--clients C] [--batches "256 16 1"]
                         [--build DIR] [--out FILE] [--redis-durability aof|none]

Runs, per round and per batch size, interleaved:
  drsim async  drsim-bench --only throughput (a real topology, the `drsim up` code path, mTLS):
               C clients send WriteBatch RPCs of B puts to the primary for S seconds; writes/s
               counted until the standby has made the last of them durable.
  drsim sync   the same with sync workloads (each RPC returns once the standby has them).
  redis async  redis-benchmark -t set -d 100 -c C -P B against the master, timed until the
               replica's offset has caught up (replicated writes/s, as drsim's figure).
  redis sync   bench/redis_wait_client.py: C clients, B pipelined SETs then WAIT 1 0, for S s.
Redis master and replica are started fresh each round on free 127.0.0.1 ports in a temp dir
and killed by PID at the end. Durability matched to drsim's default (WAL in the page cache,
survives a process kill): appendonly yes, appendfsync no, no RDB saves; `none` turns AOF off.

  --rounds N            rounds (default 3); medians are over rounds
  --seconds S           measured seconds per drsim run and Redis sync run (default 3)
  --clients C           concurrent clients (default 4)
  --batches LIST        batch sizes (default "256 16 1")
  --build DIR           drsim build dir (default build)
  --out FILE            raw results, one TSV line per measurement (default /tmp/vs_redis.tsv)
  --redis-durability    aof (default) | none
  --summarize FILE      only print the table of an earlier run's --out file
  --help                this text
EOF
}

summarize() {  # the table from a results file
  python3 - "$1" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rnd, system, mode, batch, writes, secs, rate = line.rstrip("\n").split("\t")
    rows.setdefault((mode, int(batch)), {}).setdefault(system, {})[rnd] = float(rate)
print("| what | drsim writes/s (median) | Redis writes/s (median) | ratio of medians "
      "| median of per-round ratios |")
print("|---|---|---|---|---|")
for (mode, batch) in sorted(rows, key=lambda k: (k[0], -k[1])):
    r = rows[(mode, batch)]
    d, x = r.get("drsim", {}), r.get("redis", {})
    dm = statistics.median(d.values()) if d else 0
    xm = statistics.median(x.values()) if x else 0
    same = [d[k] / x[k] for k in d if x.get(k)]
    what = f"{mode}, batch {batch} ({len(same)} rounds)"
    print(f"| {what} | {dm:,.0f} | {xm:,.0f} | {dm / xm if xm else 0:.2f} "
          f"| {statistics.median(same) if same else 0:.2f} |")
EOF
}

rounds=3 seconds=3 clients=4 batches="256 16 1" build=build out=/tmp/vs_redis.tsv durability=aof
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --redis-durability) durability=$2; shift 2 ;;
    --summarize) summarize "$2"; exit 0 ;;
    --help|-h) usage; exit 0 ;;
    *) echo "vs_redis.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$durability" in aof|none) ;; *) echo "--redis-durability: aof or none" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
bench_bin="$build/bin/drsim-bench"
for tool in "$bench_bin" redis-server redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || {
    echo "vs_redis.sh: $tool not found (build drsim-bench; apt-get install redis-server redis-tools)" >&2
    exit 2
  }
done

work=$(mktemp -d /tmp/vs-redis-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts master + replica; sets master_port, replica_port.
redis_up() {
  local dir="$work/round$1"
  mkdir -p "$dir/m" "$dir/r"
  local aof=(--appendonly no)
  [ "$durability" = aof ] && aof=(--appendonly yes --appendfsync no)
  master_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$master_port" --dir "$dir/m" --save '' "${aof[@]}" \
    --daemonize no --logfile "$dir/m/log" &
  pids+=($!)
  replica_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$replica_port" --dir "$dir/r" --save '' "${aof[@]}" \
    --replicaof 127.0.0.1 "$master_port" --daemonize no --logfile "$dir/r/log" &
  pids+=($!)
  for _ in $(seq 100); do
    if redis-cli -p "$replica_port" info replication 2>/dev/null | grep -q 'master_link_status:up'; then
      return 0
    fi
    sleep 0.1
  done
  echo "vs_redis.sh: Redis replica did not connect in 10 s" >&2
  exit 1
}

redis_down() {
  redis-cli -p "$replica_port" shutdown nosave >/dev/null 2>&1 || true
  redis-cli -p "$master_port" shutdown nosave >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

offset() { redis-cli -p "$1" info replication | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}'; }

# Requests for about `seconds` at the rates Redis reached on a 2-core box.
redis_requests() {
  case "$1" in
    1) echo $((60000 * ${seconds%.*})) ;;
    *) echo $((300000 * ${seconds%.*})) ;;
  esac
}

now() { date +%s.%N; }

: >"$out"
record() {  # system mode batch writes seconds
  local rate
  rate=$(python3 -c "print(round($4 / $5))")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$1" "$2" "$3" "$4" "$5" "$rate" >>"$out"
  printf 'round %s  %-5s %-5s batch %-3s %9s writes/s  (%s writes in %.2f s)\n' \
    "$round" "$1" "$2" "$3" "$rate" "$4" "$5"
}

echo "vs_redis: $rounds rounds x batches [$batches], $clients clients, ${seconds}s runs," \
  "Redis durability $durability; $(nproc) cores shared with whatever else runs"
for round in $(seq "$rounds"); do
  redis_up "$round"
  for b in $batches; do
    # drsim: async and sync, each on a fresh topology.
    json="$work/drsim-$round-$b.json"
    timeout 300 "$bench_bin" --only throughput --clients "$clients" --batch "$b" \
      --seconds "$seconds" --json "$json" >"$work/drsim.log" 2>&1 || {
      echo "vs_redis.sh: drsim-bench failed:" >&2; cat "$work/drsim.log" >&2; exit 1; }
    while read -r mode writes secs; do
      record drsim "$mode" "$b" "$writes" "$secs"
    done < <(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["throughput"]:
    print(r["mode"], r["writes_acked"], r["seconds_until_replicated"])' "$json")
    # Redis async: redis-benchmark on the master, timed until the replica caught up.
    redis-cli -p "$master_port" flushall >/dev/null
    n=$(redis_requests "$b")
    t0=$(now)
    timeout 300 redis-benchmark -h 127.0.0.1 -p "$master_port" -c "$clients" -P "$b" -t set \
      -d 100 -r 100000 -n "$n" -q >/dev/null
    for _ in $(seq 1000); do
      [ "$(offset "$replica_port" slave_repl_offset)" = "$(offset "$master_port" master_repl_offset)" ] && break
      sleep 0.01
    done
    t1=$(now)
    record redis async "$b" "$n" "$(python3 -c "print($t1 - $t0)")"
    # Redis sync: SET x B then WAIT 1 0.
    redis-cli -p "$master_port" flushall >/dev/null
    read -r writes secs < <(timeout 300 python3 "$here/redis_wait_client.py" --port "$master_port" \
      --clients "$clients" --batch "$b" --seconds "$seconds")
    record redis sync "$b" "$writes" "$secs"
  done
  redis_down
done

echo
summarize "$out"
