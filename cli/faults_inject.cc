// Faults, part two: injecting a checked fault into a running topology (daemon signals, the
// region's admin RPCs, the fault proxy's links, or the kernel's nftables / tc), healing, and
// describing what is in force.
#include "cli/faults.h"

#include <signal.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "cli/attach.h"
#include "cli/child_process.h"
#include "cli/faults_kernel.h"
#include "cli/rpc_clients.h"
#include "common/model/replication/lease.h"

namespace drsim::cli {

using namespace std::chrono_literals;
using Kind = FaultSpec::Kind;

namespace {

drsim::v1::Fault to_proto(const FaultSpec& f) {
  drsim::v1::Fault out;
  switch (f.kind) {
    case Kind::kPartition: out.mutable_partition()->set_mode(f.partition_mode); break;
    case Kind::kLatency:
      out.mutable_latency()->set_latency_ms(f.latency_ms);
      out.mutable_latency()->set_jitter_ms(f.jitter_ms);
      break;
    case Kind::kBandwidth:
      out.mutable_bandwidth()->set_bytes_per_second(f.bytes_per_second);
      out.mutable_bandwidth()->set_burst_bytes(f.burst_bytes);
      break;
    case Kind::kReset:
      out.mutable_reset()->set_mode(f.reset_keep ? drsim::v1::RESET_KEEP : drsim::v1::RESET_ONCE);
      break;
    case Kind::kStall:
      out.mutable_stall()->set_stall_ms(f.stall_ms);
      out.mutable_stall()->set_interval_ms(f.interval_ms);
      break;
    default: break;
  }
  return out;
}

Status set_link_fault(const TopologyState& state, const std::vector<std::string>& links,
                      const drsim::v1::Fault& fault, drsim::v1::Direction direction) {
  const std::string& proxy = state.at("faultproxy").address;
  for (const auto& link : links) {
    drsim::v1::SetFaultRequest req;
    req.set_link(link);
    req.set_direction(direction);
    *req.mutable_fault() = fault;
    if (Status s = fp_set_fault(proxy, req); !s.is_ok()) return s;
  }
  return Status::ok();
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Status check_kernel_mechanism(const TopologyState& state, const FaultSpec& f,
                              const std::string& where) {
  if (!f.is_link_fault() || f.mechanism != FaultSpec::Mechanism::kKernel) return Status::ok();
  if (!state.netns) return kernel_needs_netns(where);
  if (f.kind == Kind::kLatency) {
    return check_netem(state.netns->layout.find("faultproxy")->netns, where + " (" + f.describe() + ")",
                       netns_log(state));
  }
  return Status::ok();
}

bool needs_local_topology(const FaultSpec& f) {
  return f.is_link_fault() || f.kind == Kind::kKill || f.kind == Kind::kPause ||
         f.kind == Kind::kResume || f.kind == Kind::kRestart;
}

Status check_fault_is_local(const TopologyState& state, const FaultSpec& f) {
  return needs_local_topology(f) ? check_local(state, f.describe()) : Status::ok();
}

namespace {

// mechanism: auto becomes kernel, or the fault proxy where the kernel cannot do the fault; the
// note for inject_fault's line says which ("" when the mechanism was given).
std::string choose_mechanism(const TopologyState& state, FaultSpec& f) {
  if (!f.is_link_fault() || f.mechanism != FaultSpec::Mechanism::kAuto) return "";
  f.mechanism = FaultSpec::Mechanism::kKernel;
  if (!state.netns && f.kind != Kind::kLoss) {
    f.mechanism = FaultSpec::Mechanism::kProxy;
    return " (mechanism auto: fault proxy, the topology runs on loopback)";
  }
  if (state.netns && f.kind == Kind::kLatency &&
      !check_netem(state.netns->layout.find("faultproxy")->netns, f.describe(), netns_log(state))
           .is_ok()) {
    f.mechanism = FaultSpec::Mechanism::kProxy;
    return " (mechanism auto: fault proxy, tc netem is not available on this kernel)";
  }
  return " (mechanism auto)";
}

Result<std::string> inject_link_fault(TopologyState& state, const FaultSpec& f,
                                      const std::string& auto_note) {
  if (f.mechanism == FaultSpec::Mechanism::kKernel) {
    auto done = inject_kernel_fault(state, f);
    if (!done.is_ok()) return done.status();
    return *done + auto_note;
  }
  auto links = resolve_links(state, f.target);
  if (!links.is_ok()) return links.status();
  if (Status s = set_link_fault(state, *links, to_proto(f), f.direction); !s.is_ok()) return s;
  return f.describe() + (links->size() > 1 || (*links)[0] != f.target
                             ? " [" + joined(*links) + "]"
                             : "") +
         auto_note;
}

// A region down: the daemon answers only its admin API and every link touching the region
// drops (connections reset, bytes discarded) both ways.
Result<std::string> inject_outage(const TopologyState& state, const FaultSpec& f,
                                  const ProcessInfo& p) {
  if (Status s = region_set_outage(p.address, true); !s.is_ok()) return s;
  std::string links_note;
  if (!state.links.empty()) {
    auto links = resolve_links(state, f.target);
    if (!links.is_ok()) return links.status();
    drsim::v1::Fault drop;
    drop.mutable_partition()->set_mode(drsim::v1::PARTITION_DROP);
    if (Status s = set_link_fault(state, *links, drop, drsim::v1::DIRECTION_BOTH); !s.is_ok()) {
      return s;
    }
    links_note = " and its links partitioned [" + joined(*links) + "]";
  }
  return "outage of region " + f.target + links_note;
}

// The lease holds while no two processes' clock rates differ by more than its bound ε: the new
// rate is checked against the other region's (as it reports it) and the Traffic Manager's (never
// drifted).
Result<std::string> inject_clock_drift(const TopologyState& state, const FaultSpec& f,
                                       const ProcessInfo& p) {
  std::map<std::string, double> rates = {{f.target, f.drift_ppm / 1e6}, {"trafficmgr", 0.0}};
  std::string other_note;
  for (const auto& [name, other] : state.processes) {
    if (!is_region(name) || name == f.target) continue;
    auto st = region_status(other.address);
    if (st.is_ok()) {
      rates[name] = st->clock_drift_ppm() / 1e6;
    } else {
      other_note = fmt::format(" ({}'s drift unknown: {})", name, st.status().message());
    }
  }
  Status bound = model::check_clock_drift(state.config.lease_times(), rates);
  if (!bound.is_ok() && !f.beyond_bound) {
    return failed_precondition(bound.message() + other_note +
                               "; not injected (pass --beyond-bound, in a drill "
                               "beyond_bound: true, to inject it anyway and see what the "
                               "lease then fails to prevent)");
  }
  if (Status s = region_set_clock_drift(p.address, f.drift_ppm); !s.is_ok()) return s;
  std::string line = fmt::format("{}'s clock now runs at {:+} ppm", f.target, f.drift_ppm);
  if (!bound.is_ok()) {
    line += std::string(" — ") + kBeyondLeaseBound +
            ", so two regions may both acknowledge writes: " + bound.message();
  }
  return line;
}

// A fault on one daemon: a signal, a restart, or the region's admin RPCs.
Result<std::string> inject_daemon_fault(TopologyState& state, const FaultSpec& f) {
  if (!state.processes.count(f.target)) {
    return invalid_argument("'" + f.target + "' is not part of this topology");
  }
  const ProcessInfo& p = state.at(f.target);
  switch (f.kind) {
    case Kind::kKill: {
      if (Status s = signal_process(p.identity(), SIGKILL, f.target); !s.is_ok()) return s;
      for (int i = 0; i < 100 && process_alive(p.pid); ++i) std::this_thread::sleep_for(10ms);
      return fmt::format("killed {} (SIGKILL, pid {})", f.target, p.pid);
    }
    case Kind::kPause:
      if (Status s = signal_process(p.identity(), SIGSTOP, f.target); !s.is_ok()) return s;
      return fmt::format("paused {} (SIGSTOP, pid {})", f.target, p.pid);
    case Kind::kResume:
      if (Status s = signal_process(p.identity(), SIGCONT, f.target); !s.is_ok()) return s;
      return fmt::format("resumed {} (SIGCONT, pid {})", f.target, p.pid);
    case Kind::kRestart:
      if (Status s = restart_process(state, f.target); !s.is_ok()) return s;
      return fmt::format("restarted {} (pid {}, {})", f.target, state.at(f.target).pid,
                         state.at(f.target).address);
    case Kind::kOutage: return inject_outage(state, f, p);
    case Kind::kClockSkew:
      if (Status s = region_set_clock_offset(p.address, f.offset_ms); !s.is_ok()) return s;
      return fmt::format("{}'s wall clock now runs {:+} ms off", f.target, f.offset_ms);
    case Kind::kClockDrift: return inject_clock_drift(state, f, p);
    default: break;
  }
  return internal_error("unhandled fault " + f.describe());
}

}  // namespace

Result<std::string> inject_fault(TopologyState& state, const FaultSpec& requested) {
  if (Status s = check_fault_is_local(state, requested); !s.is_ok()) return s;
  FaultSpec f = requested;
  const std::string auto_note = choose_mechanism(state, f);
  if (f.is_link_fault()) return inject_link_fault(state, f, auto_note);
  return inject_daemon_fault(state, f);
}

Result<std::vector<std::string>> heal_faults(TopologyState& state, const std::string& target) {
  std::vector<std::string> lines;
  bool any_process = target.empty() || state.processes.count(target);
  if (!target.empty() && target != "faultproxy" && !state.processes.count(target) &&
      state.links.empty()) {
    return invalid_argument("'" + target + "' is not part of the topology");
  }
  if (any_process) {
    for (const auto& [name, p] : state.processes) {
      if ((!target.empty() && name != target) || name == "faultproxy") continue;
      if (!state.attached_from.empty()) {
        // Nothing of drsim's runs there to resume: a region's outage and clock are healed.
        if (!is_region(name)) continue;
      } else if (Status s = signal_process(p.identity(), SIGCONT, name); !s.is_ok()) {
        // Not running, or its PID is another process's now: nothing to heal there.
        lines.push_back(s.message() + ": `drsim inject restart --region " + name + "`");
        continue;
      }  // SIGCONT is harmless when not paused
      std::string what = state.attached_from.empty() ? "resumed" : "healed";
      if (is_region(name)) {
        if (Status s = region_set_outage(p.address, false); !s.is_ok()) {
          lines.push_back(name + ": " + s.message());
          continue;
        }
        if (Status s = region_set_clock_offset(p.address, 0); !s.is_ok()) {
          lines.push_back(name + ": " + s.message());
          continue;
        }
        if (Status s = region_set_clock_drift(p.address, 0); !s.is_ok()) {
          lines.push_back(name + ": " + s.message());
          continue;
        }
        what += ", outage ended, clock offset 0, drift 0";
      }
      lines.push_back(name + ": " + what);
    }
  }
  if (!state.links.empty()) {
    std::vector<std::string> links;
    if (target.empty()) {
      auto all = resolve_links(state, "all");
      if (!all.is_ok()) return all.status();
      links = *all;
    } else if (is_region(target) || !state.processes.count(target)) {
      auto sel = resolve_links(state, target);
      if (!sel.is_ok()) return sel.status();
      links = *sel;
    }
    for (const auto& l : links) {
      auto healed = fp_heal(state.at("faultproxy").address, l);
      if (!healed.is_ok()) return healed.status();
    }
    if (!links.empty()) lines.push_back("links healed: " + joined(links));
    auto kernel = heal_kernel_faults(state, links);
    if (!kernel.is_ok()) return kernel.status();
    if (!kernel->empty()) lines.push_back(*kernel);
  }
  return lines;
}

std::string describe_link_faults(const drsim::v1::LinkInfo& link) {
  auto one = [](const drsim::v1::Fault& f) -> std::string {
    switch (f.kind_case()) {
      case drsim::v1::Fault::kPartition:
        return f.partition().mode() == drsim::v1::PARTITION_BLACKHOLE ? "partition (blackhole)"
                                                                      : "partition (drop)";
      case drsim::v1::Fault::kLatency:
        return fmt::format("latency {}±{} ms", f.latency().latency_ms(), f.latency().jitter_ms());
      case drsim::v1::Fault::kBandwidth:
        return fmt::format("bandwidth {} B/s", f.bandwidth().bytes_per_second());
      case drsim::v1::Fault::kReset:
        return f.reset().mode() == drsim::v1::RESET_KEEP ? "reset (keep)" : "reset";
      case drsim::v1::Fault::kStall:
        return fmt::format("stall {} ms / ~{} ms", f.stall().stall_ms(), f.stall().interval_ms());
      default: return "?";
    }
  };
  auto side = [&](const char* name, const drsim::v1::LinkDirectionState& d) -> std::string {
    std::string out;
    for (const auto& f : d.faults()) out += (out.empty() ? "" : ", ") + one(f);
    return out.empty() ? "" : std::string(name) + ": " + out;
  };
  std::string up = side("up", link.up()), down = side("down", link.down());
  if (!up.empty() && !down.empty() && up.substr(4) == down.substr(6)) return "both: " + up.substr(4);
  return up + (!up.empty() && !down.empty() ? "; " : "") + down;
}

std::string describe_kernel_faults(const model::KernelLinkFaults& faults) {
  auto side = [](const char* name, const model::KernelDirectionFaults& d, bool nft) {
    std::vector<std::string> parts;
    if (nft && d.partition) {
      parts.push_back(*d.partition == model::PartitionMode::kDrop ? "partition (drop: tcp reset)"
                                                                  : "partition (blackhole)");
    }
    if (nft && d.loss_percent) parts.push_back(fmt::format("loss {} %", d.loss_percent));
    if (!nft && d.rate) parts.push_back(fmt::format("rate {} B/s", d.rate->bytes_per_second));
    if (!nft && d.delay) {
      parts.push_back(fmt::format(
          "delay {}±{} ms",
          std::chrono::duration_cast<std::chrono::milliseconds>(d.delay->latency).count(),
          std::chrono::duration_cast<std::chrono::milliseconds>(d.delay->jitter).count()));
    }
    return parts.empty() ? std::string() : std::string(name) + ": " + joined(parts);
  };
  std::vector<std::string> out;
  for (bool nft : {true, false}) {
    std::string up = side("up", faults.up, nft), down = side("down", faults.down, nft);
    std::string both = up + (!up.empty() && !down.empty() ? "; " : "") + down;
    if (!both.empty()) out.push_back(std::string(nft ? "nftables " : "tc ") + both);
  }
  return joined(out);
}

std::string link_mechanisms(const TopologyState& state, const std::string& link,
                            bool proxy_faults) {
  std::vector<std::string> used;
  if (proxy_faults) used.push_back("proxy");
  if (state.netns) {
    auto it = state.netns->kernel_faults.find(link);
    if (it != state.netns->kernel_faults.end()) {
      if (it->second.uses_nftables()) used.push_back("nftables");
      if (it->second.uses_tc()) used.push_back("tc");
    }
  }
  if (used.empty()) return "proxy";  // a clean link: what would fault it by default
  std::string out;
  for (const auto& u : used) out += (out.empty() ? "" : "+") + u;
  return out;
}

}  // namespace drsim::cli
