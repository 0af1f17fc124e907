// Kernel link faults (cli/faults_kernel.h): tc netem and nftables rules on a link's packets,
// applied only inside the namespaces drsim made, never on the host's interfaces.
#include "cli/faults_kernel.h"

#include <iterator>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/netns.h"
#include "common/config/listen_address.h"

namespace drsim::cli {

using Kind = FaultSpec::Kind;

std::string netns_log(const TopologyState& state) { return state.home + "/netns/commands.log"; }

namespace {

// Where the kernel can catch a link's packets: its port on the fault proxy, the proxy's
// namespace, and the sender's namespace ("" for the clients, which run on the host).
// INVALID_ARGUMENT when topology.json holds a link listen address that does not parse.
Result<model::KernelLinkPlace> kernel_place(const TopologyState& state, const std::string& link) {
  const LinkInfo& l = state.links.at(link);
  const auto& layout = state.netns->layout;
  auto listen = config::parse_host_port("link " + link + " listen", l.listen);
  if (!listen.is_ok()) return listen.status();
  model::KernelLinkPlace place;
  place.link = link;
  place.index = 1 + static_cast<int>(std::distance(state.links.begin(), state.links.find(link)));
  place.proxy_port = listen->port;
  place.proxy_address = layout.find("faultproxy")->address;
  place.proxy_netns = layout.find("faultproxy")->netns;
  if (const auto* from = layout.find(l.from)) place.from_netns = from->netns;
  return place;
}

}  // namespace

namespace {

Result<std::vector<model::KernelLink>> kernel_links(const TopologyState& state,
                                                    const NetnsState& netns) {
  std::vector<model::KernelLink> out;
  for (const auto& [link, faults] : netns.kernel_faults) {
    if (faults.empty()) continue;
    auto place = kernel_place(state, link);
    if (!place.is_ok()) return place.status();
    out.push_back({std::move(place).value(), faults});
  }
  return out;
}

}  // namespace

namespace {

void set_kernel_direction(model::KernelDirectionFaults& d, const FaultSpec& f) {
  switch (f.kind) {
    case Kind::kPartition:
      d.partition = f.partition_mode == drsim::v1::PARTITION_BLACKHOLE
                        ? model::PartitionMode::kBlackhole
                        : model::PartitionMode::kDrop;
      break;
    case Kind::kLoss: d.loss_percent = f.loss_percent; break;
    case Kind::kBandwidth: d.rate = model::BandwidthFault{f.bytes_per_second, f.burst_bytes}; break;
    case Kind::kLatency:
      d.delay = model::LatencyFault{std::chrono::milliseconds(f.latency_ms),
                                    std::chrono::milliseconds(f.jitter_ms)};
      break;
    default: break;
  }
}

}  // namespace

namespace {

// Applies `next` (the kernel faults of every link) and records it in topology.json.
Status apply_and_record(TopologyState& state, NetnsState next) {
  auto links = kernel_links(state, next);
  if (!links.is_ok()) return links.status();
  if (Status s = apply_kernel_faults(next, *links, state.home + "/netns", netns_log(state));
      !s.is_ok()) {
    return s;
  }
  for (auto it = next.kernel_faults.begin(); it != next.kernel_faults.end();) {
    it = it->second.empty() ? next.kernel_faults.erase(it) : std::next(it);
  }
  state.netns = std::move(next);
  return save_state(state);
}

}  // namespace

Status kernel_needs_netns(const std::string& where) {
  return invalid_argument(where +
                          ": kernel faults are applied only inside drsim's network namespaces "
                          "(placement: netns), never on the host's interfaces; this topology runs "
                          "on loopback: use mechanism proxy");
}

Result<std::string> inject_kernel_fault(TopologyState& state, const FaultSpec& f) {
  if (!state.netns) return kernel_needs_netns(f.describe());
  auto links = resolve_links(state, f.target);
  if (!links.is_ok()) return links.status();
  NetnsState next = *state.netns;
  for (const auto& link : *links) {
    auto& faults = next.kernel_faults[link];
    if (f.direction != drsim::v1::DIRECTION_DOWN) set_kernel_direction(faults.up, f);
    if (f.direction != drsim::v1::DIRECTION_UP) set_kernel_direction(faults.down, f);
    auto place = kernel_place(state, link);
    if (!place.is_ok()) return place.status();
    if (Status s = model::check_kernel_fault(*place, faults, f.describe()); !s.is_ok()) return s;
  }
  if (f.kind == Kind::kLatency) {
    if (Status s = check_netem(state.netns->layout.find("faultproxy")->netns, f.describe(),
                               netns_log(state));
        !s.is_ok()) {
      return s;
    }
  }
  if (Status s = apply_and_record(state, std::move(next)); !s.is_ok()) return s;
  return f.describe() + (links->size() > 1 || (*links)[0] != f.target
                             ? " [" + fmt::format("{}", fmt::join(*links, ", ")) + "]"
                             : "");
}

// Removes the kernel rules of `links`; "" when none had any.
Result<std::string> heal_kernel_faults(TopologyState& state, const std::vector<std::string>& links) {
  if (!state.netns) return std::string();
  NetnsState next = *state.netns;
  std::vector<std::string> healed;
  for (const auto& link : links) {
    auto it = next.kernel_faults.find(link);
    if (it == next.kernel_faults.end() || it->second.empty()) continue;
    it->second = {};
    healed.push_back(link);
  }
  if (healed.empty()) return std::string();
  if (Status s = apply_and_record(state, std::move(next)); !s.is_ok()) return s;
  return "kernel rules removed: " + fmt::format("{}", fmt::join(healed, ", "));
}

}  // namespace drsim::cli
