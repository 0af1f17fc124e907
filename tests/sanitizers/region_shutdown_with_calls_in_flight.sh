#!/usr/bin/env bash
# Reproducer for the shutdown use-after-free of issue 17, run in the sanitized builds
# (CTest sanitizers.region_shutdown_with_calls_in_flight): an active region whose peer and lease
# witness are frozen (SIGSTOP: connections are accepted by the kernel, never answered) has its
# replication stream, peer and witness calls in flight when it is told to stop. gRPC completes
# them after the region's loop and io_context are gone; before they went through the loop gate,
# ASan saw those completions post into the freed io_context. Plain TCP (--insecure, loopback):
# the lifetimes tested do not depend on the transport. Every stop must exit 0 (an ASan or
# UBSan report makes the daemon exit 1) with "region primary stopped" logged and no report in
# its log, and must not act on a timer once it began to stop. Its first ASan run (issue 17, 208 stops) found what the gate left: about 1 stop in 40,
# a call's state that completed after the loop dropped the last reference to its channel on a
# gRPC callback thread, and gRPC freed its callback completion queue twice (common/net/loop_gate.h).
#
#   region_shutdown_with_calls_in_flight.sh BIN_DIR WORK_DIR [ROUNDS]
# Only 127.0.0.1, ephemeral ports; every process it starts is stopped by PID on exit.
set -uo pipefail
BIN="$1"
WORK="$2"
ROUNDS="${3:-8}"
rm -rf "$WORK"
mkdir -p "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do
    kill -CONT "$p" 2>/dev/null
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}
trap cleanup EXIT

# wait_serving PID READY_FILE: until the ready file exists and SIGTERM is caught (at most 60 s).
wait_serving() {
  local pid="$1" ready="$2"
  for _ in $(seq 600); do
    if [ -s "$ready" ] && [ -r "/proc/$pid/status" ]; then
      local cgt
      cgt=$(awk '/^SigCgt/ {print $2}' "/proc/$pid/status")
      if (( (16#$cgt >> 14) & 1 )); then return 0; fi
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

"$BIN/drsim-secondary" --insecure --data-dir "$WORK/secondary" --role standby \
  --ready-file "$WORK/secondary.ready" >"$WORK/secondary.log" 2>&1 &
SECONDARY=$!
PIDS+=("$SECONDARY")
wait_serving "$SECONDARY" "$WORK/secondary.ready" || { echo "secondary did not start"; cat "$WORK/secondary.log"; exit 1; }
PEER=$(grep -o '"address":"[^"]*"' "$WORK/secondary.ready" | cut -d'"' -f4)
kill -STOP "$SECONDARY"

failures=0
for round in $(seq "$ROUNDS"); do
  log="$WORK/primary-$round.log"
  "$BIN/drsim-primary" --insecure --data-dir "$WORK/primary-$round" --peer "$PEER" --witness "$PEER" \
    --lease-renew-interval-ms 20 --peer-fence-timeout-ms 100 --fence-check-timeout-ms 400 \
    --ready-file "$WORK/primary-$round.ready" >"$log" 2>&1 &
  primary=$!
  PIDS+=("$primary")
  if ! wait_serving "$primary" "$WORK/primary-$round.ready"; then
    echo "round $round: primary did not start"; cat "$log"; failures=$((failures + 1)); continue
  fi
  # Stop at a different point of the calls' lives each round (0 to 0.9 s after start).
  sleep "0.$(( (round * 7) % 10 ))"
  kill -TERM "$primary"
  rc=0
  wait "$primary" || rc=$?
  # A report written while the process exits may not change its exit code (gRPC's double free
  # of its callback queue came on a gRPC thread as main returned): look for it too. It is in the
  # log unless ASAN_OPTIONS / UBSAN_OPTIONS set a log_path (scripts/test.sh checks those files).
  if [ "$rc" -ne 0 ] || ! grep -q "region primary stopped" "$log" ||
    grep -qE "ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer" "$log"; then
    echo "round $round: drsim-primary exited $rc after SIGTERM"
    tail -n 40 "$log"
    failures=$((failures + 1))
  fi
  # A stopping region acts on no timer: its restart's confirmation timeout (400 ms, armed while
  # the frozen peer does not answer) must not make it "resume as active" during the shutdown.
  if awk '/signal 15 received, stopping/ {s = 1} s && /resuming as active/ {found = 1} END {exit !found}' "$log"; then
    echo "round $round: drsim-primary resumed as active after it began to stop"
    grep -E "stopping|resuming as active|stopped" "$log"
    failures=$((failures + 1))
  fi
done
kill -CONT "$SECONDARY"
echo "$((ROUNDS - failures)) of $ROUNDS stops clean"
[ "$failures" -eq 0 ]
