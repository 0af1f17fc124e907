#!/usr/bin/env bash
# Installs the Debian 12 packages drsim builds and tests with, if missing.
# (bind9-dnsutils gives the tests `dig`; chromium renders the HTML report in
# a headless test; openssl makes the HTTPS probe test's certificate; a test fails,
# never skips, when one is missing; clang and its runtime libraries, libFuzzer among them,
# build the fuzz targets in tests/fuzz; iproute2, nftables and iptables run the `multihost`
# tests: network namespaces, nftables rules and tc qdiscs.)
# Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  librocksdb-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libjemalloc-dev
  bind9-dnsutils chromium openssl
  iproute2 nftables iptables
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "drsim: installing missing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "drsim: run as root (or install sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
