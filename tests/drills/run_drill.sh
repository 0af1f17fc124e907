#!/usr/bin/env bash
# Runs one drill from deploy/drills in a fresh directory and checks the exit
# code: run_drill.sh DRSIM DRILL_FILE WORK_DIR EXPECTED_EXIT. A drill expected
# to fail must also say why (a [FAIL] expectation or ABORTED).
set -u
drsim="$1" file="$2" work="$3" want="$4"
rm -rf "$work"
mkdir -p "$work"
timeout 240 "$drsim" drill run "$file" --home "$work/home" 2>&1 | tee "$work/output.txt"
got=${PIPESTATUS[0]}
if [ "$got" -ne "$want" ]; then
  echo "drill $file exited $got, expected $want"
  exit 1
fi
if [ "$want" -eq 1 ] && ! grep -qE '\[FAIL\]|ABORTED' "$work/output.txt"; then
  echo "drill $file failed without naming a failed expectation or an abort"
  exit 1
fi
echo "drill $file exited $got as expected"
exit 0
