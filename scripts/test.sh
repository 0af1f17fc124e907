#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test
# (unit, integration, drills) with CTest. Extra arguments go to ctest,
# e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${DRSIM_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 300 -j 2 "$@"
