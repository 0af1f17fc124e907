# Shared by the multihost tests (sourced): the checks every test makes first, the names a home's
# namespaces get (cli: model::netns_tag, FNV-1a of the absolute home), and a clean-up by name that
# runs even when the test fails.

# Fails (never skips) when this machine cannot run netns topologies, saying why.
require_netns() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL: the multihost tests need root (network namespaces, veth, bridge); uid $(id -u)"
    exit 1
  fi
  for tool in ip nft tc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "FAIL: the multihost tests need '$tool' (scripts/install-deps.sh installs it)"
      exit 1
    fi
  done
  local probe="drsim-probe-$$"
  if ! ip netns add "$probe" 2>/tmp/$probe.err; then
    echo "FAIL: cannot create a network namespace here: $(cat /tmp/$probe.err)"
    rm -f /tmp/$probe.err
    exit 1
  fi
  ip netns del "$probe"
  rm -f /tmp/$probe.err
}

# netns_tag HOME: the six hex digits drsim derives from the absolute home path.
netns_tag() {
  local h=2166136261 byte
  for byte in $(printf '%s' "$1" | od -An -tu1); do
    h=$(( ((h ^ byte) * 16777619) & 0xffffffff ))
  done
  printf '%06x' $(( h & 0xffffff ))
}

# What of HOME's namespaces, veths and bridge exists now (one per line; empty when none).
netns_leftovers() {
  local tag
  tag=$(netns_tag "$1")
  ip netns list | awk '{print $1}' | grep -E "^drsim-$tag-" | sed 's/^/namespace /'
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^drs${tag}(br|v[0-9])$" |
    sed 's/^/link /'
  return 0
}

# Removes HOME's topology by its record, then whatever is left by name.
netns_cleanup() {
  local drsim="$1" home="$2" tag
  [ -f "$home/topology.json" ] && timeout 30 "$drsim" down --home "$home" >/dev/null 2>&1
  tag=$(netns_tag "$home")
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^drsim-$tag-"); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  for dev in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' |
               grep -E "^drs${tag}(br|v[0-9])$"); do
    ip link del "$dev" 2>/dev/null
  done
  return 0
}

# start_netns_test DRSIM WORK: checks root and netns, makes WORK afresh, sets `home` (WORK/home)
# and `tag`, and removes that home's topology by name on any exit.
start_netns_test() {
  require_netns
  rm -rf "$2"
  mkdir -p "$2"
  home="$2/home"
  tag=$(netns_tag "$home")
  NETNS_TEST_DRSIM="$1"
  trap 'netns_cleanup "$NETNS_TEST_DRSIM" "$home"' EXIT
}

# Fails when anything of HOME's network is left.
expect_nothing_left() {
  local left
  left=$(netns_leftovers "$1")
  if [ -n "$left" ]; then
    echo "FAIL: left behind after $2:"
    echo "$left"
    return 1
  fi
  echo "ok: nothing of $(netns_tag "$1") left after $2 (no namespace, veth or bridge)"
}
