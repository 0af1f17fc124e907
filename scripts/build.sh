#!/usr/bin/env bash
# Configures and builds drsim into ./build (or $DRSIM_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${DRSIM_BUILD_DIR:-build}"
GENERATOR=()
if command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# Warnings are errors (DRSIM_WERROR; the flags are in CMakeLists.txt), in a build directory made
# before they were too.
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" "${LAUNCHER[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDRSIM_WERROR=ON
elif ! grep -q '^DRSIM_WERROR:BOOL=ON$' "$BUILD_DIR/CMakeCache.txt"; then
  cmake -S . -B "$BUILD_DIR" -DDRSIM_WERROR=ON
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
