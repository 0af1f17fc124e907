// KernelFaultPlan: link faults done by the kernel inside a `placement: netns` topology's
// namespaces instead of by drsim-faultproxy — nftables rules for partitions and packet loss,
// tc htb (rate) and tc netem (delay) for shaping — as the nftables ruleset text and the `tc`
// commands (argv) that make a namespace's rules exactly what the links' faults say. Each link is
// told apart by its port on the fault proxy (every link has one): rules match it in the fault
// proxy's namespace, and shaping of the `up` direction in the sending daemon's namespace. Pure:
// cli/netns.cc runs the commands.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/model/faults/link_fault.h"
#include "common/model/faults/netns_layout.h"

namespace drsim::model {

// One direction of a link: `up` from the link's `from` to its `to` (requests, replication
// frames), `down` the answers.
struct KernelDirectionFaults {
  std::optional<PartitionMode> partition;  // kDrop: TCP reset, kBlackhole: silent drop
  uint32_t loss_percent = 0;               // 0..100, random drop (nftables numgen)
  std::optional<BandwidthFault> rate;      // tc htb
  std::optional<LatencyFault> delay;       // tc netem

  bool uses_nftables() const { return partition.has_value() || loss_percent > 0; }
  bool uses_tc() const { return rate.has_value() || delay.has_value(); }
  bool empty() const { return !uses_nftables() && !uses_tc(); }
};

struct KernelLinkFaults {
  KernelDirectionFaults up, down;
  bool empty() const { return up.empty() && down.empty(); }
  bool uses_nftables() const { return up.uses_nftables() || down.uses_nftables(); }
  bool uses_tc() const { return up.uses_tc() || down.uses_tc(); }
};

// Where a link's packets can be caught.
struct KernelLinkPlace {
  std::string link;           // "repl.primary-secondary"
  int index = 0;              // 1..99, stable per link: its tc class 1:(10+index) and filter prio
  uint16_t proxy_port = 0;    // the link's listen port on the fault proxy
  std::string proxy_address;  // the fault proxy's address on the bridge
  std::string proxy_netns;
  std::string from_netns;  // "" when `from` runs in the host's namespace (the clients)
};

struct KernelLink {
  KernelLinkPlace place;
  KernelLinkFaults faults;
};

// INVALID_ARGUMENT when a fault cannot be done inside drsim's namespaces: shaping the `up`
// direction of a link whose sender is the host (it would shape a host interface). `where`
// names the fault in the message.
Status check_kernel_fault(const KernelLinkPlace& place, const KernelLinkFaults& faults,
                          const std::string& where);

// The nftables table every rule lives in (one per namespace; only the fault proxy's has one).
inline constexpr const char* kNftTable = "drsim";

// The ruleset file for `nft -f` in the fault proxy's namespace: replaces table inet drsim with
// the rules of every link (partition first, then loss; `up` on input by destination port,
// `down` on output by source port). Empty when no link has an nftables fault.
std::string nft_ruleset(const std::vector<KernelLink>& links);

// The tc commands, for `netns`, that turn its eth0 shaping into what `links` say: removes the
// root qdisc when `had_root` and then, if any link is shaped there, adds an htb root whose
// unclassified traffic passes unshaped, one class per shaped link (rate, or 10 Gbit/s when it is
// only delayed), a u32 filter on the link's port, and a netem leaf for a delay.
std::vector<Command> tc_commands(const std::string& netns, const std::vector<KernelLink>& links,
                                 bool had_root);
// True when some link is shaped in `netns`.
bool shapes_in(const std::string& netns, const std::vector<KernelLink>& links);

// The probe that tells whether this kernel has tc netem: add a netem qdisc on lo of `netns`.
Command netem_probe_command(const std::string& netns);
// "<where>: tc netem is not available on this kernel (...)": INVALID_ARGUMENT (the fault asks for
// a mechanism this host does not have; exit 2).
Status netem_unavailable(const std::string& where);

}  // namespace drsim::model
