#!/usr/bin/env bash
# Runs one drill from deploy/drills in a fresh directory and checks the exit
# code: run_drill.sh DRSIM DRILL_FILE WORK_DIR EXPECTED_EXIT
set -u
drsim="$1" file="$2" work="$3" want="$4"
rm -rf "$work"
mkdir -p "$work"
timeout 240 "$drsim" drill run "$file" --home "$work/home"
got=$?
if [ "$got" -ne "$want" ]; then
  echo "drill $file exited $got, expected $want"
  exit 1
fi
echo "drill $file exited $got as expected"
exit 0
