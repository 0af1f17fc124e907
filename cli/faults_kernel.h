// Kernel link faults inside drsim's network namespaces (placement: netns): where a link's
// packets can be caught, the tc / nftables rules drsim adds and removes, and their record in
// topology.json (cli/faults_kernel.cc). Used by cli/faults.cc's inject and heal.
#pragma once

#include <string>
#include <vector>

#include "cli/faults.h"
#include "cli/topology.h"

namespace drsim::cli {

// The log of the ip / tc / nft commands drsim ran for this home.
std::string netns_log(const TopologyState& state);

Status kernel_needs_netns(const std::string& where);

Result<std::string> inject_kernel_fault(TopologyState& state, const FaultSpec& f);

// Removes the kernel rules of `links`; "" when none had any.
Result<std::string> heal_kernel_faults(TopologyState& state, const std::vector<std::string>& links);

}  // namespace drsim::cli
