// The faults drsim injects into a running topology, one vocabulary for `drsim inject` /
// `drsim heal` and for drill steps: process faults (kill, pause, resume, restart), a region
// outage (the region's daemon and every link touching it), link faults through the fault
// proxy (partition, latency, bandwidth, reset, stall) or, with `mechanism: kernel` in a
// `placement: netns` topology, by the kernel (partition and loss with nftables, bandwidth and
// latency with tc), and a daemon's clock offset.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/topology.h"
#include "common/core/status.h"
#include "drsim/v1/faultproxy.pb.h"

namespace drsim::cli {

struct FaultSpec {
  enum class Kind {
    kKill,       // SIGKILL a daemon
    kPause,      // SIGSTOP
    kResume,     // SIGCONT
    kRestart,    // start a stopped daemon again with its original arguments
    kOutage,     // region down: its daemon answers only its admin API, its links drop
    kPartition,  // link: drop (reset connections, discard bytes) or blackhole (hold bytes)
    kLatency,    // link: latency ± jitter per chunk
    kBandwidth,  // link: token-bucket cap
    kReset,      // link: reset open connections (once, or keep resetting new ones)
    kStall,      // link: forward nothing for stall_ms every ~interval_ms
    kClockSkew,  // daemon: wall clock offset
    kClockDrift, // region: monotonic clock rate (its lease, timers, wall clock)
    kLoss,       // link: drop this share of packets (kernel only: nftables)
  };
  // Who does a link fault: drsim-faultproxy, the kernel inside the topology's namespaces, or
  // (auto) the kernel where this topology and host can (netns; tc netem for latency), else the
  // proxy — the inject line says which.
  enum class Mechanism { kProxy, kKernel, kAuto };
  Kind kind = Kind::kKill;
  std::string target;  // process or region name, or a link selector (see resolve_links)
  drsim::v1::Direction direction = drsim::v1::DIRECTION_BOTH;
  drsim::v1::PartitionMode partition_mode = drsim::v1::PARTITION_DROP;
  uint32_t latency_ms = 0, jitter_ms = 0;
  uint64_t bytes_per_second = 0, burst_bytes = 0;
  bool reset_keep = false;
  uint32_t stall_ms = 0, interval_ms = 0;
  int64_t offset_ms = 0;
  int64_t drift_ppm = 0;
  // clock-drift: inject a drift beyond the lease's bound ε anyway (else refused), to see what
  // the lease then fails to prevent.
  bool beyond_bound = false;
  Mechanism mechanism = Mechanism::kProxy;
  uint32_t loss_percent = 0;  // loss: 1..100

  bool is_link_fault() const;
  // "latency 200±20 ms on repl.primary-secondary (up)".
  std::string describe() const;
};

// Every fault's name, in the order the docs list them.
const std::vector<std::string>& fault_names();

// One parameter as given: its text, and how to name it in an error ("--latency-ms" on the
// command line, "drill.yaml:12: steps[3].inject.latency_ms" in a drill).
struct FaultParam {
  std::string value;
  std::string where;
};
// How a missing parameter is named in an error: `latency_ms` (drill) or `--latency-ms` (CLI).
enum class ParamStyle { kDrillKey, kFlag };
// Builds and validates a fault from its name and parameters (keys as in drill files: region,
// link, direction, mode, latency_ms, jitter_ms, bytes_per_second, burst_bytes, keep, stall_ms,
// interval_ms, offset_ms, drift_ppm, beyond_bound, percent, mechanism). A parameter that does not apply to the fault is an error.
// `fault_where` names the fault itself in errors.
Result<FaultSpec> make_fault(const std::string& name, const std::map<std::string, FaultParam>& params,
                             const std::string& fault_where, ParamStyle style);

// Link selector -> link names: a link name (`drsim status` lists them), or a group: `clients`,
// `probes`, `replication`, a region name (every link touching it) or `all`.
Result<std::vector<std::string>> resolve_links(const TopologyState& state,
                                               const std::string& selector);

// In inject_fault's line for a clock drift injected beyond the lease's bound (beyond_bound).
inline constexpr const char* kBeyondLeaseBound = "BEYOND the lease's drift bound";

// Injects the fault; returns one line saying what was done. INVALID_ARGUMENT for a target the
// topology does not have, FAILED_PRECONDITION when the topology runs without the fault proxy.
Result<std::string> inject_fault(TopologyState& state, const FaultSpec& fault);

// Faults only a topology drsim started can take: a signal to its process (kill, pause, resume,
// restart) or a link fault (the fault proxy or drsim's namespaces sit on its links). An attached
// topology (`drsim attach`) refuses them: FAILED_PRECONDITION saying why (check_local).
bool needs_local_topology(const FaultSpec& fault);
Status check_fault_is_local(const TopologyState& state, const FaultSpec& fault);

// Before a drill's load starts: INVALID_ARGUMENT naming `where` when the fault asks the kernel for
// what this topology or host cannot do (mechanism kernel without placement: netns; kernel latency
// without tc netem). OK for every other fault.
Status check_kernel_mechanism(const TopologyState& state, const FaultSpec& fault,
                              const std::string& where);

// Heals `target` (a process, a region, a link selector) or everything when empty: resumes
// paused daemons, ends region outages, clears link faults (the proxy's and the kernel rules drsim
// added) and clock offsets. Returns one line per thing healed.
Result<std::vector<std::string>> heal_faults(TopologyState& state, const std::string& target);

// "up: latency 200±20 ms; down: partition (drop)" for one link as the proxy reports it; "" when
// the link is clean.
std::string describe_link_faults(const drsim::v1::LinkInfo& link);

// "nftables: up: loss 5 %; tc: down: rate 125000 B/s" for the kernel faults set on one link; ""
// when none.
std::string describe_kernel_faults(const model::KernelLinkFaults& faults);
// Which mechanisms act on a link now: "proxy", "nftables", "tc" or several ("proxy+nftables"),
// given whether the proxy reports faults on it.
std::string link_mechanisms(const TopologyState& state, const std::string& link,
                            bool proxy_faults);

}  // namespace drsim::cli
