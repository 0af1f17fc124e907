#!/usr/bin/env bash
# The layering check must refuse a model that includes <thread>, naming the file and header.
set -u
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf '#include <thread>\n' > "$d/bad.h"
out=$("$(dirname "$0")/check_model_includes.sh" "$d")
rc=$?
if [ "$rc" -eq 1 ] && grep -q "bad.h: <thread>" <<<"$out"; then
  echo "refused as expected: $out"; exit 0
fi
echo "expected exit 1 naming bad.h: <thread>, got exit $rc: $out"; exit 1
