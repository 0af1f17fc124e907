#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy on the C++ files a change touches: the files given,
# or else the .cc files changed since the merge base with DRSIM_TIDY_BASE (default main),
# uncommitted and new ones included. Exits 1 when clang-tidy reports anything.
#
#   scripts/tidy.sh                          the files this branch changed
#   scripts/tidy.sh common/region/region_node.cc cli/commands.cc
#
# By hand, not in scripts/test.sh: ~25 s of CPU a heavy file, and a CI checkout has no change
# to look at (docs/architecture.md, "Warnings and clang-tidy"). Needs build/compile_commands.json
# (scripts/build.sh writes it; DRSIM_BUILD_DIR for another build directory).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${DRSIM_BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
  echo "scripts/tidy.sh: no $BUILD_DIR/compile_commands.json: run scripts/build.sh first" >&2
  exit 2
fi
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  base="$(git merge-base "${DRSIM_TIDY_BASE:-main}" HEAD)"
  mapfile -t files < <({
    git diff --name-only --diff-filter=d "$base" -- '*.cc'
    git ls-files --others --exclude-standard -- '*.cc'
  } | sort -u)
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "scripts/tidy.sh: no changed .cc files"
  exit 0
fi
status=0
for f in "${files[@]}"; do
  echo "== $f"
  clang-tidy -p "$BUILD_DIR" --quiet --warnings-as-errors='*' "$f" 2>/dev/null || status=1
done
exit "$status"
