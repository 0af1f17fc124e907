#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the tests with CTest.
#
#   scripts/test.sh                      every test (unit, integration, drills, deploy) in build/, then
#                                        the unit tests under ASan + UBSan (build-asan/) and the
#                                        DNS, HTTP and replication fuzz targets for
#                                        DRSIM_FUZZ_SECONDS (build-fuzz/, clang). This is what CI
#                                        runs (.ci/run); the YAML loaders' targets and the
#                                        integration tests under ASan do not fit its 40 minutes.
#   scripts/test.sh -L unit              only build/, extra arguments go to ctest
#   scripts/test.sh --sanitize address   unit + integration tests under ASan + UBSan (build-asan/)
#   scripts/test.sh --sanitize thread    unit + integration tests under TSan (build-tsan/)
#   scripts/test.sh --fuzz               all six fuzz targets for DRSIM_FUZZ_SECONDS (default 20)
#
# With --sanitize, arguments after it go to ctest (default: -L 'unit|integration'); the run
# fails when any process (test or daemon it started) wrote a sanitizer report, even one at
# daemon shutdown that no test looked at. docs/security.md, "Fuzzing and sanitizers".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

GENERATOR=()
if command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

# configure DIR CMAKE_ARGS...: once per build directory; again when the first argument is
# -DDRSIM_WERROR=ON and the directory was made without it.
configure() {
  local dir="$1"
  shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S . -B "$dir" "${GENERATOR[@]}" "${LAUNCHER[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DDRSIM_BUILD_BENCH=OFF "$@"
  elif [ "${1:-}" = -DDRSIM_WERROR=ON ] && ! grep -q '^DRSIM_WERROR:BOOL=ON$' "$dir/CMakeCache.txt"; then
    cmake -S . -B "$dir" -DDRSIM_WERROR=ON
  fi
}

# sanitized_build MODE [TARGET...]: configures and builds build-asan/ (MODE address) or
# build-tsan/ (MODE thread); every target when none is named. Sets DIR.
sanitized_build() {
  local mode="$1" flag
  shift
  case "$mode" in
    address) DIR=build-asan flag="address,undefined" ;;
    thread) DIR=build-tsan flag=thread ;;
    *) echo "scripts/test.sh: --sanitize takes address or thread, not '$mode'" >&2; exit 2 ;;
  esac
  # Not -Werror here: GCC's manual warns that sanitizers raise the rate of false-positive
  # warnings (-Wmaybe-uninitialized above all) and advises against combining the two; build/
  # (scripts/build.sh) and the clang fuzz build are where a warning fails CI.
  configure "$DIR" -DDRSIM_SANITIZE="$flag" || return 1
  if [ $# -gt 0 ]; then
    cmake --build "$DIR" --parallel "$(nproc)" --target "$@" || return 1
  else
    cmake --build "$DIR" --parallel "$(nproc)" || return 1
  fi
}

# run_sanitized COMMAND...: runs COMMAND (in $DIR) with the sanitizers' options; fails when it
# fails or when any process, a daemon a test started included, wrote a sanitizer report.
run_sanitized() {
  local reports="$ROOT/$DIR/sanitizer-reports"
  rm -rf "$reports"
  mkdir -p "$reports"
  local supp="$ROOT/tests/sanitizers"
  # Children (the daemons the integration tests start) inherit these and write their reports
  # under $reports as <tool>.<pid>, which is checked below.
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:strict_string_checks=1:check_initialization_order=1:log_path=$reports/asan"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
  # exitcode=0: a process with a TSan report still exits as it would have (TSan's default is 66,
  # which fails tests that check a daemon's exit status for the report instead of the behaviour);
  # the reports fail the run below.
  export TSAN_OPTIONS="halt_on_error=0:exitcode=0:second_deadlock_stack=1:suppressions=$supp/tsan.supp:log_path=$reports/tsan"
  local status=0
  (cd "$DIR" && "$@") || status=$?
  if compgen -G "$reports/*" >/dev/null; then
    echo "scripts/test.sh: sanitizer reports in $reports:" >&2
    for f in "$reports"/*; do
      echo "==== $f" >&2
      head -n 60 "$f" >&2
    done
    status=1
  fi
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
  return "$status"
}

# run_fuzz TARGET LABEL [CTEST_ARGS...]: builds TARGET in build-fuzz/ and runs the tests labelled
# LABEL (drsim_fuzz_targets / fuzz: all six; drsim_fuzz_ci_targets / fuzz_ci: those CI runs).
run_fuzz() {
  local dir=build-fuzz target="$1" label="$2"
  shift 2
  # -O1 and line tables only: half the compile time of -O2 -g, and debug asserts stay on.
  configure "$dir" -DDRSIM_WERROR=ON -DCMAKE_CXX_COMPILER=clang++ -DDRSIM_FUZZ=ON -DDRSIM_BUILD_TESTS=OFF \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DDRSIM_FUZZ_SECONDS="${DRSIM_FUZZ_SECONDS:-20}" || return 1
  cmake --build "$dir" --parallel "$(nproc)" --target "$target" || return 1
  (cd "$dir" && ctest --output-on-failure -L "$label" "$@")
}

scripts/install-deps.sh
case "${1:-}" in
  --sanitize)
    mode="${2:-}"
    shift 2 || { echo "scripts/test.sh: --sanitize takes address or thread" >&2; exit 2; }
    [ $# -gt 0 ] || set -- -L 'unit|integration'
    sanitized_build "$mode"
    run_sanitized ctest --output-on-failure --timeout 600 -j 2 "$@"
    ;;
  --fuzz)
    shift
    run_fuzz drsim_fuzz_targets fuzz "$@"
    ;;
  "")
    # All three run even when one fails, so a CI log shows every failure at once.
    scripts/build.sh
    status=0
    (cd "${DRSIM_BUILD_DIR:-build}" && ctest --output-on-failure --timeout 300 -j 2) || status=1
    # The unit test binary in one process: 8 s, where one process per test under CTest is 4 min.
    { sanitized_build address drsim_unit_tests && run_sanitized bin/drsim_unit_tests; } || status=1
    run_fuzz drsim_fuzz_ci_targets fuzz_ci || status=1
    exit "$status"
    ;;
  *)
    scripts/build.sh
    cd "${DRSIM_BUILD_DIR:-build}"
    ctest --output-on-failure --timeout 300 -j 2 "$@"
    ;;
esac
