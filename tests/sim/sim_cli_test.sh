#!/usr/bin/env bash
# `drsim sim` end to end (CTest label sim). Every run is bounded in wall time.
# Usage: sim_cli_test.sh BIN_DIR CASE
set -u
bin=$1
what=$2
out=$(mktemp)
trap 'rm -f "$out" "$out.2"' EXIT
run() { timeout 50 "$@" >"$out" 2>&1; }
fail() { echo "FAIL: $*"; echo "--- output"; cat "$out"; exit 1; }

case "$what" in
  all)  # 80 seeds, each draws a kind (every kind drawn): exit 0, a summary with no violation
    run "$bin/drsim" sim --seeds 80 --nemesis all; rc=$?
    [ "$rc" -eq 0 ] || fail "exit $rc, expected 0"
    grep -q '^  seeds              80 (' "$out" || fail "no 'seeds 80' in the summary"
    for k in partition freeze double-failover drift disk-full kill partition-one-way kill-cut-off failback racing-failovers slow-link skew test-failover; do
      grep -q "^  seeds .*$k [1-9]" "$out" || fail "no seed drew $k"
    done
    grep -Eq '^  kills / restarts   [1-9][0-9]* / [1-9]' "$out" || fail "no kill and restart counted"
    grep -q '^  violations         0 in 0 seed(s)$' "$out" || fail "violations not 0"
    grep -Eq '^  acks checked       [1-9][0-9]{3,} \(' "$out" || fail "fewer than 1000 acks checked"
    [ "$(grep -c '^  [0-9]*/80 seeds' "$out")" -ge 9 ] || fail "fewer than 9 progress lines"
    ;;
  each)  # every kind alone, a few seeds
    for k in partition freeze double-failover drift disk-full kill partition-one-way kill-cut-off failback racing-failovers slow-link skew test-failover; do
      run "$bin/drsim" sim --seeds 6 --nemesis "$k"; rc=$?
      [ "$rc" -eq 0 ] || fail "$k: exit $rc, expected 0"
      grep -q "^  seeds              6 ($k 6)" "$out" || fail "$k: not 6 seeds of $k"
      grep -q '^  violations         0 in 0 seed(s)$' "$out" || fail "$k: violations"
    done
    # A test failover: an isolated copy of the secondary's latest point serves the drill's
    # writes and is cleaned up; the pair never sees them (judged at clean-up and at the end).
    run "$bin/drsim" sim --seed 1 --nemesis test-failover; rc=$?
    [ "$rc" -eq 0 ] || fail "test-failover seed 1: exit $rc"
    grep -q "operator: test failover of the secondary's latest point (copy test-copy-1)" "$out" \
      || fail "test-failover: no test failover in the events"
    grep -Eq 'test failover: test-copy-1 serves at epoch [0-9]+, [3-8] drill writes acknowledged' "$out" \
      || fail "test-failover: the copy did not serve the drill's writes"
    grep -q 'operator: clean up the test failover (test-copy-1 stops)' "$out" \
      || fail "test-failover: no clean-up"
    ;;
  replay)  # one seed twice: the same output but the wall time. Each with its kind named (which
           # kind a bare --seed draws changes with the number of kinds): kill seed 1 kills the
           # secondary, kill seed 5 the primary and fails over
    for spec in "4 racing-failovers" "1 failback" "4 kill-cut-off" "1 kill" "5 kill" "3 slow-link"; do
      set -- $spec
      run "$bin/drsim" sim --seed "$1" --nemesis "$2"; rc=$?
      [ "$rc" -eq 0 ] || fail "seed $1 ($2): exit $rc"
      grep -v 'wall time' "$out" >"$out.2"
      run "$bin/drsim" sim --seed "$1" --nemesis "$2"
      grep -v 'wall time' "$out" | diff "$out.2" - >/dev/null || fail "seed $1 ($2): two runs differ"
      [ "$(grep -c ' acked k' "$out")" -ge 50 ] || fail "seed $1 ($2): fewer than 50 acks in the events"
      grep -Eq 'operator( [0-9]+)?: (planned )?failover to|nemesis: ' "$out" || fail "seed $1 ($2): no nemesis or failover in the events"
    done
    # A bare --seed replays the kind the seed draws among all of them, the same way twice.
    run "$bin/drsim" sim --seed 7; rc=$?
    [ "$rc" -eq 0 ] || fail "seed 7: exit $rc"
    grep -v 'wall time' "$out" >"$out.2"
    run "$bin/drsim" sim --seed 7
    grep -v 'wall time' "$out" | diff "$out.2" - >/dev/null || fail "seed 7: two runs differ"
    ;;
  routed)  # routed clients (the Traffic Manager's answers, TTL, puts and gets) judged by the
           # drill's history checker; --duration runs; the same seed replays alike; bad input
    run "$bin/drsim" sim --seeds 60 --clients 8; rc=$?
    [ "$rc" -eq 0 ] || fail "--clients 8: exit $rc, expected 0"
    grep -q '^drsim sim: 60 seed(s), 8 routed client(s), nemesis' "$out" || fail "no routed clients in the header"
    grep -Eq '^  routed clients     [1-9][0-9]{4,} operations \([1-9][0-9]* gets, [1-9][0-9]* deletes\) at [0-9]+/s virtual, [1-9][0-9]* ok;' "$out" \
      || fail "fewer than 10000 routed operations, or no gets or deletes"
    grep -Eq '^  routing changes    [1-9]' "$out" || fail "the Traffic Manager never changed its route"
    grep -q '^  history check      model::check_history over every routed operation' "$out" || fail "no history check line"
    # Every failover's recovery time judged against drsim up's bound (2050 ms): some judged.
    grep -Eq '^  recovery time      [1-9][0-9]* promotion\(s\) judged: a routed client.s write acknowledged by the promoted region within the bound \(2050 ms\), the longest after [0-9]+ ms' "$out" \
      || fail "no promotion's recovery time judged"
    grep -q '^  violations         0 in 0 seed(s)$' "$out" || fail "violations not 0"
    run "$bin/drsim" sim --seed 11 --runs 4 --clients 8 --duration 20s; rc=$?
    [ "$rc" -eq 0 ] || fail "--duration 20s: exit $rc, expected 0"
    grep -q '^drsim sim: 4 seed(s), 8 routed client(s), at least 20s each' "$out" || fail "--duration: header"
    python3 - "$out" <<'PY' || fail "--duration 20s: less than 80 s of virtual time over 4 runs"
import re, sys
t = float(re.search(r"^  virtual time\s+([0-9.]+) s", open(sys.argv[1]).read(), re.M).group(1))
assert t >= 80.0, t
PY
    for spec in "99 drift" "4 racing-failovers"; do
      set -- $spec
      run "$bin/drsim" sim --seed "$1" --nemesis "$2" --clients 4; rc=$?
      [ "$rc" -eq 0 ] || fail "seed $1 ($2) --clients 4: exit $rc"
      grep -q ' read k' "$out" || fail "seed $1 ($2): no read in the events"
      grep -q 'trafficmgr: route ' "$out" || fail "seed $1 ($2): no routing change in the events"
      grep -v 'wall time' "$out" >"$out.2"
      run "$bin/drsim" sim --seed "$1" --nemesis "$2" --clients 4
      grep -v 'wall time' "$out" | diff "$out.2" - >/dev/null || fail "seed $1 ($2) --clients 4: two runs differ"
    done
    run "$bin/drsim" sim --duration 2h; rc=$?
    [ "$rc" -eq 2 ] || fail "--duration 2h: exit $rc, expected 2"
    grep -q -- '--duration: 2h is longer than 1h of virtual time' "$out" || fail "--duration 2h: no reason"
    run "$bin/drsim" sim --duration 5x; rc=$?
    [ "$rc" -eq 2 ] || fail "--duration 5x: exit $rc, expected 2"
    grep -q -- "--duration: unit 'x' in '5x' is not one of ms, s, m, h, d" "$out" || fail "--duration 5x: no reason"
    run "$bin/drsim" sim --seeds 3 --runs 3; rc=$?
    [ "$rc" -eq 2 ] || fail "--seeds with --runs: exit $rc, expected 2"
    ;;
  modes)  # --mode and --workloads: every write sync (none lost, each on the standby when
          # acknowledged), every one async, six workloads; the replay command names them
    run "$bin/drsim" sim --seeds 40 --mode sync --workloads 6 --clients 4; rc=$?
    [ "$rc" -eq 0 ] || fail "--mode sync: exit $rc, expected 0"
    grep -q '^drsim sim: 40 seed(s), 4 routed client(s), 6 sync workload(s), nemesis' "$out" \
      || fail "--mode sync: header"
    grep -Eq '^  acks checked       ([1-9][0-9]{3,}) \(\1 sync, 0 async\)' "$out" \
      || fail "--mode sync: not every ack a sync one"
    grep -Eq '^  async acks lost    0 ' "$out" || fail "--mode sync: async acks lost"
    grep -q '^  violations         0 in 0 seed(s)$' "$out" || fail "--mode sync: violations"
    run "$bin/drsim" sim --seeds 40 --mode async --workloads 3; rc=$?
    [ "$rc" -eq 0 ] || fail "--mode async: exit $rc, expected 0"
    grep -Eq '^  acks checked       ([1-9][0-9]{3,}) \(0 sync, \1 async\)' "$out" \
      || fail "--mode async: not every ack an async one"
    grep -Eq '^  async acks lost    [1-9]' "$out" || fail "--mode async: no async tail given up in 40 seeds"
    run "$bin/drsim" sim --seed 3 --mode sync --workloads 6; rc=$?
    [ "$rc" -eq 0 ] || fail "--seed 3 --mode sync: exit $rc"
    grep -q 'acked k[0-9]* (vm-sync-5)' "$out" || fail "--workloads 6: no write to the sixth workload"
    if [ -x "$bin/drsim-testhooks" ]; then
      run "$bin/drsim-testhooks" sim --seeds 5 --mode sync --workloads 4 --broken-variant ack-before-standby; rc=$?
      [ "$rc" -eq 1 ] || fail "ack-before-standby --mode sync: exit $rc, expected 1"
      grep -q "replay: drsim sim --seed 1 --nemesis .* --mode sync --workloads 4 --broken-variant ack-before-standby" "$out" \
        || fail "the replay command does not name --mode and --workloads"
      run "$bin/drsim-testhooks" sim --mode async --broken-variant ack-before-standby; rc=$?
      [ "$rc" -eq 2 ] || fail "ack-before-standby --mode async: exit $rc, expected 2"
      grep -q 'needs sync workloads' "$out" || fail "ack-before-standby --mode async: no reason"
    fi
    run "$bin/drsim" sim --mode bogus; rc=$?
    [ "$rc" -eq 2 ] || fail "--mode bogus: exit $rc, expected 2"
    grep -q -- '--mode: bogus not in {sync,async,mixed}' "$out" || fail "--mode bogus: no reason"
    run "$bin/drsim" sim --workloads 0; rc=$?
    [ "$rc" -eq 2 ] || fail "--workloads 0: exit $rc, expected 2"
    ;;
  episodes)  # a --duration run: faults one after another while its first half lasts, the pair
             # restored between two (re-protect, planned failback); replays alike; lease mutant
    run "$bin/drsim" sim --seeds 12 --duration 40s --clients 4; rc=$?
    [ "$rc" -eq 0 ] || fail "--duration 40s: exit $rc, expected 0"
    python3 - "$out" <<'PY' || fail "fewer than 3 faults per run, or no restore"
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^  faults             ([0-9]+) \(.*\); the pair restored ([0-9]+) time", text, re.M)
assert m, "no faults line"
faults, restores = int(m.group(1)), int(m.group(2))
assert faults >= 36 and restores >= 24, (faults, restores)
PY
    grep -q '^  violations         0 in 0 seed(s)$' "$out" || fail "--duration 40s: violations"
    run "$bin/drsim" sim --seed 26 --nemesis all --duration 40s --clients 4; rc=$?
    [ "$rc" -eq 0 ] || fail "seed 26: exit $rc"
    grep -Eq '^seed 26, nemesis [a-z-]+, then [a-z-]+' "$out" || fail "seed 26: the header names one fault"
    grep -q 'operator: restore the pair' "$out" || fail "seed 26: no restore in the events"
    grep -q 'pair restored: primary active at epoch' "$out" || fail "seed 26: the pair was not restored"
    grep -Eq 'nemesis 2: [a-z-]+' "$out" || fail "seed 26: no second fault"
    grep -v 'wall time' "$out" >"$out.2"
    run "$bin/drsim" sim --seed 26 --nemesis all --duration 40s --clients 4
    grep -v 'wall time' "$out" | diff "$out.2" - >/dev/null || fail "seed 26 with faults: two runs differ"
    # Only the kinds named: skew and partition-one-way, nothing else drawn later.
    run "$bin/drsim" sim --seeds 4 --nemesis skew,partition-one-way --duration 30s; rc=$?
    [ "$rc" -eq 0 ] || fail "skew,partition-one-way: exit $rc"
    grep -Eq '^  faults             [0-9]+ \(partition-one-way [0-9]+, skew [0-9]+\)' "$out" \
      || fail "skew,partition-one-way: other kinds drawn"
    if [ -x "$bin/drsim-testhooks" ]; then
      run "$bin/drsim-testhooks" sim --seeds 4 --nemesis partition-one-way,partition --duration 30s --broken-variant lease; rc=$?
      [ "$rc" -eq 1 ] || fail "lease mutant with faults: exit $rc, expected 1"
      grep -q "replay: drsim sim --seed [0-9]* --nemesis partition-one-way,partition --duration 30s --broken-variant lease" "$out" \
        || fail "lease mutant with faults: the replay command does not name the kinds"
    fi
    ;;
  interrupt)  # Ctrl-C ends a long run after the seed under way, with the summary of the seeds
              # run and exit 130 (128 + SIGINT)
    # Job control on: a non-interactive shell's background job would ignore SIGINT. Not under
    # `timeout`, which relays a signal to its child and to the child's group (two signals: the
    # second stops at once, as a second Ctrl-C does); bounded here instead: 20 s, then SIGKILL.
    set -m
    "$bin/drsim" sim --seed 1 --runs 100000 --duration 60s >"$out" 2>&1 &
    pid=$!
    set +m
    sleep 2
    kill -INT "$pid"
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid"; rc=$?
    [ "$rc" -eq 130 ] || fail "interrupted: exit $rc, expected 130"
    grep -Eq '^drsim sim: interrupted after [1-9][0-9]* of 100000 seed\(s\); the summary covers those$' "$out" \
      || fail "interrupted: no interruption line"
    grep -Eq '^  seeds              [1-9][0-9]* \(' "$out" || fail "interrupted: no summary"
    grep -q '^  violations         0 in 0 seed(s)$' "$out" || fail "interrupted: violations"
    ;;
  html)  # --html FILE: the seed as the drill's HTML report; refused without --seed (exit 2)
    h=$(mktemp --suffix=.html)
    run "$bin/drsim" sim --seed 17 --nemesis kill --clients 8 --html "$h"; rc=$?
    [ "$rc" -eq 0 ] || fail "--html: exit $rc, expected 0"
    for want in '<svg' 'PASSED' 'sim seed 17, kill' 'kill primary' 'failover to secondary' \
                'route → secondary' 'epoch 2: secondary promoted' '>RTO<' 'acknowledged by secondary'; do
      grep -q -- "$want" "$h" || { cp "$h" "$out"; fail "--html: no '$want' in the report"; }
    done
    rm -f "$h"
    run "$bin/drsim" sim --seeds 3 --html /tmp/drsim-html-unused.html; rc=$?
    [ "$rc" -eq 2 ] || fail "--html without --seed: exit $rc, expected 2"
    grep -q -- '--html: needs --seed S' "$out" || fail "--html without --seed: no reason"
    [ ! -e /tmp/drsim-html-unused.html ] || fail "--html without --seed wrote a file"
    ;;
  trace)  # --trace FILE: the replayed seed's events as JSON lines; refused without --seed or
           # when the file cannot be written (exit 2, before running anything)
    tr=$(mktemp)
    run "$bin/drsim" sim --seed 4 --nemesis racing-failovers --trace "$tr"; rc=$?
    [ "$rc" -eq 0 ] || fail "exit $rc, expected 0"
    python3 - "$tr" <<'PY' || fail "the trace is not one JSON header and one JSON event per line"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
head = json.loads(lines[0])
assert head["seed"] == 4 and head["nemesis"] == "racing-failovers", head
assert head["events"] == len(lines) - 1, (head["events"], len(lines))
kinds = set()
last = 0.0
for l in lines[1:]:
    e = json.loads(l)
    assert e["t_ms"] >= last, e
    last = e["t_ms"]
    kinds.add(e["kind"])
assert {"ack", "refusal", "operator", "state"} <= kinds, kinds
PY
    grep -q '"replay":"drsim sim --seed 4 --nemesis racing-failovers"' "$tr" || fail "no replay command in the header"
    rm -f "$tr"
    run "$bin/drsim" sim --seeds 3 --trace /tmp/drsim-trace-unused.jsonl; rc=$?
    [ "$rc" -eq 2 ] || fail "--trace without --seed: exit $rc, expected 2"
    grep -q -- '--trace: needs --seed' "$out" || fail "--trace without --seed: no reason"
    run "$bin/drsim" sim --seed 4 --trace /nonexistent-dir/x.jsonl; rc=$?
    [ "$rc" -eq 2 ] || fail "--trace to an unwritable file: exit $rc, expected 2"
    grep -q -- '--trace: cannot write /nonexistent-dir/x.jsonl' "$out" || fail "unwritable: no reason"
    ! grep -q 'seed(s), nemesis' "$out" || fail "unwritable --trace: it ran the seed first"
    ;;
  broken)  # the broken variants (test build): the lease bypass, caught in the freeze,
           # partition and racing-failovers kinds; sync acks before the standby, in every kind
    for k in freeze partition racing-failovers; do
      run "$bin/drsim-testhooks" sim --seeds 5 --nemesis "$k" --broken-variant lease; rc=$?
      [ "$rc" -eq 1 ] || fail "$k: exit $rc, expected 1"
      grep -q '^  violations         [1-9][0-9]* in 5 seed(s)$' "$out" || fail "$k: not caught in 5 of 5 seeds"
      grep -q 'acknowledged by a superseded region' "$out" || fail "$k: no ack by a superseded region"
      grep -q "replay: drsim sim --seed 1 --nemesis $k --broken-variant lease" "$out" \
        || fail "$k: no replay command"
    done
    # --mutant is the same flag under the issue's name.
    run "$bin/drsim-testhooks" sim --seeds 2 --nemesis partition --mutant lease; rc=$?
    [ "$rc" -eq 1 ] || fail "--mutant lease: exit $rc, expected 1"
    grep -q 'acknowledged by a superseded region' "$out" || fail "--mutant lease: not caught"
    # Sync writes acknowledged before the standby has them: caught with every kind.
    run "$bin/drsim-testhooks" sim --seeds 5 --broken-variant ack-before-standby; rc=$?
    [ "$rc" -eq 1 ] || fail "ack-before-standby: exit $rc, expected 1"
    grep -q '^  violations         [1-9][0-9]* in 5 seed(s)$' "$out" \
      || fail "ack-before-standby: not caught in 5 of 5 seeds"
    grep -q 'acknowledged by primary but not on secondary' "$out" \
      || fail "ack-before-standby: no sync ack missing on the standby"
    # ... and the routed clients' sync deletes acknowledged before the standby applied them.
    run "$bin/drsim-testhooks" sim --seeds 5 --clients 8 --broken-variant ack-before-standby; rc=$?
    [ "$rc" -eq 1 ] || fail "ack-before-standby --clients 8: exit $rc, expected 1"
    grep -Eq 'sync delete of k[0-9]+ acknowledged by primary but k[0-9]+ is still on secondary' "$out" \
      || fail "ack-before-standby --clients 8: no sync delete found unapplied on the standby"
    # A restarted primary that does not mark its unverified writes: two histories at the same
    # seqs, found by kill-cut-off's same-data check.
    run "$bin/drsim-testhooks" sim --seeds 20 --nemesis kill-cut-off --broken-variant unverified-marks; rc=$?
    [ "$rc" -eq 1 ] || fail "unverified-marks: exit $rc, expected 1"
    grep -q 'the regions hold different data for' "$out" \
      || fail "unverified-marks: no two histories found"
    grep -q 'NO unverified-writes marks (broken variant)' "$out" \
      || fail "unverified-marks: the header does not say it is the broken variant"
    # Reads answered whatever the role and lease: the routed clients' history check finds a
    # superseded region's stale reads (partitions: 64 of 100 seeds; 10 asked).
    run "$bin/drsim-testhooks" sim --seeds 10 --nemesis partition --clients 8 --broken-variant unfenced-reads; rc=$?
    [ "$rc" -eq 1 ] || fail "unfenced-reads: exit $rc, expected 1"
    grep -q 'routed client: stale read of ' "$out" || fail "unfenced-reads: no stale read found"
    grep -q 'reads NOT fenced by role and lease (broken variant)' "$out" \
      || fail "unfenced-reads: the header does not say it is the broken variant"
    run "$bin/drsim-testhooks" sim --seeds 1 --broken-variant unfenced-reads; rc=$?
    [ "$rc" -eq 2 ] || fail "unfenced-reads without --clients: exit $rc, expected 2"
    # A Traffic Manager probing every 3 s instead of 100 ms: the clients reach a promoted region
    # seconds late, which only the recovery check sees once the clients write on (--duration).
    run "$bin/drsim-testhooks" sim --seeds 10 --duration 20s --clients 8 --broken-variant slow-detection; rc=$?
    [ "$rc" -eq 1 ] || fail "slow-detection: exit $rc, expected 1"
    grep -Eq 'recovery time: (primary|secondary) acknowledged no write to a routed client within 2050 ms of its promotion at epoch [0-9]+ \(detection 350 \+ TTL 500 \+ max\(lease 1000, client deadline 1000\) \+ slack 200 ms\); the first came [0-9]+ ms after it' "$out" \
      || fail "slow-detection: no late recovery found"
    grep -q 'the Traffic Manager probes every 3 s (broken variant)' "$out" \
      || fail "slow-detection: the header does not say it is the broken variant"
    run "$bin/drsim-testhooks" sim --seeds 1 --broken-variant slow-detection; rc=$?
    [ "$rc" -eq 2 ] || fail "slow-detection without --clients: exit $rc, expected 2"
    ;;
  no-hook-in-production)  # the production CLI runs the verb but has no broken variant
    run "$bin/drsim" sim --seeds 1; rc=$?
    [ "$rc" -eq 0 ] || fail "the production drsim sim --seeds 1: exit $rc, expected 0"
    run "$bin/drsim" sim --seeds 1 --broken-variant lease; rc=$?
    [ "$rc" -ne 0 ] || fail "the production drsim accepted --broken-variant"
    grep -q 'broken-variant' "$out" || fail "the refusal does not name --broken-variant"
    ;;
  without-fsync)  # stores without fsync: the crash loses acked writes, and the checker says so
    run "$bin/drsim" sim --seeds 6 --nemesis kill --without-fsync; rc=$?
    [ "$rc" -eq 1 ] || fail "exit $rc, expected 1"
    grep -q '^  violations         [1-9][0-9]* in 6 seed(s)$' "$out" || fail "not caught in 6 of 6 seeds"
    grep -Eq 'is not in its store after the restart|its crash lost a write it had confirmed' "$out" \
      || fail "no acknowledged write lost by the crash"
    grep -q 'replay: drsim sim --seed 1 --nemesis kill --without-fsync' "$out" || fail "no replay command"
    grep -q '(expected: with --without-fsync' "$out" || fail "the output does not say it is expected"
    ;;
  drift-beyond)  # rates beyond the lease's bound: the checker finds acks by the old primary
    run "$bin/drsim" sim --seeds 10 --nemesis drift --drift-beyond-bound; rc=$?
    [ "$rc" -eq 1 ] || fail "exit $rc, expected 1"
    grep -q 'acknowledged by a superseded region' "$out" || fail "no ack by a superseded region"
    grep -q '(expected: --drift-beyond-bound' "$out" || fail "the output does not say it is expected"
    ;;
  json-and-bad-input)  # --json is one document; an unknown kind is refused naming it (exit 2)
    run "$bin/drsim" sim --seeds 3 --nemesis partition --json; rc=$?
    [ "$rc" -eq 0 ] || fail "--json: exit $rc, expected 0"
    grep -q '"schema_version": 1' "$out" || fail "--json: no schema_version"
    grep -q '"seeds": 3,' "$out" || fail "--json: not 3 seeds"
    grep -q '"violations": 0,' "$out" || fail "--json: violations not 0"
    run "$bin/drsim" sim --nemesis pause; rc=$?
    [ "$rc" -eq 2 ] || fail "unknown kind: exit $rc, expected 2"
    grep -q "unknown kind 'pause' (known: partition, freeze, double-failover, drift, disk-full, kill, partition-one-way, kill-cut-off, failback, racing-failovers, slow-link, skew, test-failover, all)" "$out" \
      || fail "unknown kind: the refusal does not name it"
    run "$bin/drsim" sim --nemesis partition --drift-beyond-bound; rc=$?
    [ "$rc" -eq 2 ] || fail "--drift-beyond-bound without drift: exit $rc, expected 2"
    run "$bin/drsim" sim --nemesis partition --without-fsync; rc=$?
    [ "$rc" -eq 2 ] || fail "--without-fsync without kill: exit $rc, expected 2"
    run "$bin/drsim" sim --seeds 3 --nemesis kill --json; rc=$?
    [ "$rc" -eq 0 ] || fail "--json kill: exit $rc, expected 0"
    grep -q '"kills": 3,' "$out" || fail "--json: not 3 kills"
    grep -q '"restarts": 3,' "$out" || fail "--json: not 3 restarts"
    grep -q '"standby_refusals": ' "$out" || fail "--json: no standby_refusals"
    echo "ok: $what"; exit 0
    ;;
  *) echo "unknown case $what"; exit 2 ;;
esac
echo "ok: $what"; grep -E '^  (seeds|virtual|wall|acks|kills|violations)' "$out"
exit 0
