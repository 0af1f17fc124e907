// NetnsLayout: where the daemons of a `placement: netns` topology live — one Linux network
// namespace per daemon on a bridge in the host's namespace, each with an address of the
// topology's subnet — and the `ip` commands (argv) that create and remove exactly that. Pure:
// cli/netns.cc runs the commands and reads the host's routes; this decides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/core/status.h"

namespace drsim::model {

// An IPv4 network "a.b.c.d/n" (host bits cleared when parsed).
struct Ipv4Net {
  uint32_t address = 0;  // host byte order
  int prefix = 32;

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  uint32_t network() const { return address & mask(); }
  bool overlaps(const Ipv4Net& other) const;
  std::string text() const;  // "10.213.0.0/24"
};

std::string ipv4_text(uint32_t address);
// "10.213.0.0/24"; a bare address is a /32. INVALID_ARGUMENT naming `field`.
Result<Ipv4Net> parse_ipv4_net(const std::string& text, const std::string& field);

// The default subnet of `placement: netns` (RFC 1918, unlikely to be a host's).
inline constexpr const char* kDefaultNetnsSubnet = "10.213.0.0/24";

// The network of one line of `ip -4 -o route show table all` ("192.0.2.0/24 dev eth0 ...",
// "local 127.0.0.0/8 dev lo table local ...", "broadcast 10.0.0.255 ..."); nothing for the
// default route, which overlaps everything and routes nothing of ours in particular.
std::optional<Ipv4Net> route_network(const std::string& route_line);

// OK when `subnet` overlaps none of the host's routes (its addresses are routes of the local
// table); else INVALID_ARGUMENT "<field>: 10.213.0.0/24 overlaps the host's route '...'".
Status check_subnet_free(const Ipv4Net& subnet, const std::vector<std::string>& route_lines,
                         const std::string& field);

// One daemon's namespace.
struct NetnsMember {
  std::string name;       // primary, secondary, trafficmgr, faultproxy
  std::string netns;      // drsim-<tag>-<name>
  std::string host_veth;  // its veth's end on the bridge (the other end is eth0 inside)
  std::string address;    // its address on the bridge, "10.213.0.2"
};

struct NetnsLayout {
  std::string tag;  // from the home, so two homes never share a name
  Ipv4Net subnet;
  std::string bridge;
  std::string host_address;  // the bridge's address in the host namespace (the CLI's)
  std::vector<NetnsMember> members;

  const NetnsMember* find(const std::string& name) const;
};

// Six hex digits of FNV-1a over the absolute home path.
std::string netns_tag(const std::string& home);

// The members in order primary, secondary, trafficmgr, faultproxy at .2 .. .5 of `subnet` and
// the bridge at .1. INVALID_ARGUMENT naming `field` when the subnet is not /8 to /29.
Result<NetnsLayout> plan_netns_layout(const std::string& home, const Ipv4Net& subnet,
                                      const std::string& field);

using Command = std::vector<std::string>;

// Bridge up with the host address; per member: namespace, veth pair (eth0 inside), address,
// links up, lo up. Every name is the layout's.
std::vector<Command> netns_setup_commands(const NetnsLayout& layout);
// Removes every namespace, veth and the bridge by name (deleting a namespace also drops its
// nftables tables and qdiscs). Each may fail when already gone; the caller checks what is left.
std::vector<Command> netns_teardown_commands(const NetnsLayout& layout);
// Runs a command inside a member's namespace: {"ip", "netns", "exec", netns}.
Command netns_exec(const std::string& netns);

}  // namespace drsim::model
