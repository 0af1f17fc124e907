// The side effects of `placement: netns`: running `ip`, `nft` and `tc` (argv, never a shell) to
// create and remove a topology's namespaces, veths and bridge, and to apply the kernel link faults
// model::KernelFaultPlan decides. Used by cli/topology.cc (up / down) and cli/faults.cc.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/model/faults/kernel_fault_plan.h"
#include "common/model/faults/netns_layout.h"

namespace drsim::cli {

// What topology.json records of a netns topology: every name drsim created (removed by name),
// the kernel faults set per link, and the namespaces where a root qdisc was added.
struct NetnsState {
  model::NetnsLayout layout;
  std::map<std::string, model::KernelLinkFaults> kernel_faults;  // by link name
  std::set<std::string> tc_roots;
};

// The absolute path of `ip` (daemons start as `ip netns exec NS daemon ...`).
std::string netns_ip_path();

// The checks of `placement: netns` that depend on this host, INVALID_ARGUMENT naming `field` (exit
// 2): root (CAP_NET_ADMIN) and the `ip` tool.
Status check_netns_privileges(const std::string& field);
// The host's IPv4 routes, one `ip -4 -o route show table all` line each.
Result<std::vector<std::string>> host_routes(const std::string& log_path);

// Creates the layout (model::netns_setup_commands); on a failure removes what it made and says
// which command failed and why. Logs every command and its output to `log_path`.
Status create_netns(const model::NetnsLayout& layout, const std::string& log_path);
// Removes every namespace, veth and the bridge of the layout by name; then lists what of it
// still exists: empty when everything is gone.
std::vector<std::string> remove_netns(const model::NetnsLayout& layout,
                                      const std::string& log_path);
// The layout's namespaces and devices that exist now.
std::vector<std::string> netns_leftovers(const model::NetnsLayout& layout);

// Until released, an interrupt (Ctrl-C) of this CLI removes the layout (cli/interrupt.h).
void own_netns(const model::NetnsLayout& layout, const std::string& log_path);
void release_netns(const model::NetnsLayout& layout);

// INVALID_ARGUMENT naming `where` when tc netem is missing (probed in `netns`, removed again).
Status check_netem(const std::string& netns, const std::string& where, const std::string& log_path);

// Makes the nftables table of the fault proxy's namespace and the qdiscs of every namespace what
// `links` say (model::nft_ruleset, model::tc_commands); `state.tc_roots` follows. `rules_dir` holds
// the ruleset file nft reads.
Status apply_kernel_faults(NetnsState& state, const std::vector<model::KernelLink>& links,
                           const std::string& rules_dir, const std::string& log_path);

}  // namespace drsim::cli
