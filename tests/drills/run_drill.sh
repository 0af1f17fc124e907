#!/usr/bin/env bash
# Runs one drill from deploy/drills in a fresh directory and checks the exit
# code: run_drill.sh DRSIM DRILL_FILE WORK_DIR EXPECTED_EXIT. A drill expected
# to fail must also say why (a [FAIL] expectation or ABORTED). Every drill also
# writes --junit, checked to agree with the exit code.
set -u
drsim="$1" file="$2" work="$3" want="$4"
rm -rf "$work"
mkdir -p "$work"
timeout 240 "$drsim" drill run "$file" --home "$work/home" --junit "$work/junit.xml" 2>&1 |
  tee "$work/output.txt"
got=${PIPESTATUS[0]}
if [ "$got" -ne "$want" ]; then
  echo "drill $file exited $got, expected $want"
  exit 1
fi
if [ "$want" -eq 1 ] && ! grep -qE '\[FAIL\]|ABORTED' "$work/output.txt"; then
  echo "drill $file failed without naming a failed expectation or an abort"
  exit 1
fi
if ! grep -q '<testsuite name="drsim.drill.' "$work/junit.xml" 2>/dev/null; then
  echo "drill $file wrote no JUnit testsuite to $work/junit.xml"
  exit 1
fi
if [ "$want" -eq 0 ] && ! grep -q '<testsuites name="drsim drills" tests="[1-9][0-9]*" failures="0"' "$work/junit.xml"; then
  echo "drill $file passed but its JUnit file does not say so:"; cat "$work/junit.xml"
  exit 1
fi
if [ "$want" -ne 0 ] && grep -q 'failures="0"' "$work/junit.xml"; then
  echo "drill $file failed but its JUnit file counts no failure:"; cat "$work/junit.xml"
  exit 1
fi
echo "drill $file exited $got as expected (JUnit: $work/junit.xml)"
exit 0
