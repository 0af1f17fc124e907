#!/usr/bin/env bash
# README command 1: install what is missing, build, and run `drsim demo`.
# Extra arguments go to `drsim demo` (see `build/bin/drsim demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "drsim: building into ${DRSIM_BUILD_DIR:-build}/ (the first build takes about 5 minutes on 2 cores; log: /tmp/drsim-build.log)"
scripts/build.sh >/tmp/drsim-build.log 2>&1 || { tail -50 /tmp/drsim-build.log; exit 1; }
exec "${DRSIM_BUILD_DIR:-build}/bin/drsim" demo "$@"
