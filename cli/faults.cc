#include "cli/faults.h"

#include <signal.h>

#include <algorithm>
#include <set>
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

struct FaultInfo {
  Kind kind;
  const char* name;
  // Parameters it takes besides its target; the target key is `region` or `link`.
  const char* target_key;
  std::set<std::string> params;
};

const std::vector<FaultInfo>& fault_table() {
  static const std::vector<FaultInfo> table = {
      {Kind::kKill, "kill", "region", {}},
      {Kind::kPause, "pause", "region", {}},
      {Kind::kResume, "resume", "region", {}},
      {Kind::kRestart, "restart", "region", {}},
      {Kind::kOutage, "outage", "region", {}},
      {Kind::kPartition, "partition", "link", {"direction", "mode", "mechanism"}},
      {Kind::kLoss, "loss", "link", {"direction", "percent", "mechanism"}},
      {Kind::kLatency, "latency", "link", {"direction", "latency_ms", "jitter_ms", "mechanism"}},
      {Kind::kBandwidth, "bandwidth", "link",
       {"direction", "bytes_per_second", "burst_bytes", "mechanism"}},
      {Kind::kReset, "reset", "link", {"keep"}},
      {Kind::kStall, "stall", "link", {"direction", "stall_ms", "interval_ms"}},
      {Kind::kClockSkew, "clock-skew", "region", {"offset_ms"}},
      {Kind::kClockDrift, "clock-drift", "region", {"drift_ppm", "beyond_bound"}},
  };
  return table;
}

const FaultInfo& info(Kind kind) {
  for (const auto& f : fault_table()) {
    if (f.kind == kind) return f;
  }
  return fault_table().front();
}

const char* direction_name(drsim::v1::Direction d) {
  switch (d) {
    case drsim::v1::DIRECTION_UP: return "up";
    case drsim::v1::DIRECTION_DOWN: return "down";
    default: return "both ways";
  }
}

Status bad(const FaultParam& p, const std::string& why) {
  return invalid_argument(p.where + ": " + why);
}

Status read_u64(const FaultParam& p, uint64_t min, uint64_t max, uint64_t* out) {
  const std::string& t = p.value;
  if (t.empty() || t.size() > 20 || !std::all_of(t.begin(), t.end(), ::isdigit)) {
    return bad(p, "'" + t + "' is not a whole number");
  }
  unsigned long long v = std::stoull(t);
  if (v < min || v > max) return bad(p, fmt::format("{} is out of range {}..{}", v, min, max));
  *out = v;
  return Status::ok();
}

Status read_u32(const FaultParam& p, uint32_t min, uint32_t max, uint32_t* out) {
  uint64_t v = 0;
  if (Status s = read_u64(p, min, max, &v); !s.is_ok()) return s;
  *out = static_cast<uint32_t>(v);
  return Status::ok();
}

// A signed whole number in -limit..limit ("-200", "+200", "200"), named `unit` in errors.
Status read_signed(const FaultParam& p, uint64_t limit, const char* unit, int64_t* out) {
  const std::string& t = p.value;
  bool negative = !t.empty() && t[0] == '-';
  FaultParam magnitude{negative || (!t.empty() && t[0] == '+') ? t.substr(1) : t, p.where};
  uint64_t v = 0;
  if (Status s = read_u64(magnitude, 0, limit, &v); !s.is_ok()) {
    return bad(p, fmt::format("'{}' is not a number of {} in -{}..{}", t, unit, limit, limit));
  }
  *out = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return Status::ok();
}

}  // namespace

bool FaultSpec::is_link_fault() const { return std::string(info(kind).target_key) == "link"; }

std::string FaultSpec::describe() const {
  std::string what;
  switch (kind) {
    case Kind::kPartition:
      what = partition_mode == drsim::v1::PARTITION_BLACKHOLE ? "partition (blackhole)"
                                                               : "partition (drop)";
      break;
    case Kind::kLatency: what = fmt::format("latency {}±{} ms", latency_ms, jitter_ms); break;
    case Kind::kBandwidth: what = fmt::format("bandwidth {} bytes/s", bytes_per_second); break;
    case Kind::kReset: what = reset_keep ? "reset (keep resetting)" : "reset"; break;
    case Kind::kStall: what = fmt::format("stall {} ms every ~{} ms", stall_ms, interval_ms); break;
    case Kind::kClockSkew: what = fmt::format("clock-skew {:+} ms", offset_ms); break;
    case Kind::kClockDrift: what = fmt::format("clock-drift {:+} ppm", drift_ppm); break;
    case Kind::kLoss: what = fmt::format("loss {} %", loss_percent); break;
    default: what = info(kind).name;
  }
  if (mechanism == Mechanism::kAuto) what += " (mechanism auto)";
  if (mechanism == Mechanism::kKernel) {
    what += kind == Kind::kPartition || kind == Kind::kLoss ? " (kernel: nftables)"
                                                            : " (kernel: tc)";
  }
  std::string out = what + " on " + target;
  if (is_link_fault() && kind != Kind::kReset) out += fmt::format(" ({})", direction_name(direction));
  return out;
}

const std::vector<std::string>& fault_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& f : fault_table()) out.push_back(f.name);
    return out;
  }();
  return names;
}

Result<FaultSpec> make_fault(const std::string& name, const std::map<std::string, FaultParam>& params,
                             const std::string& fault_where, ParamStyle style) {
  auto key_name = [style](std::string key) {
    if (style == ParamStyle::kDrillKey) return key;
    std::replace(key.begin(), key.end(), '_', '-');
    return "--" + key;
  };
  const FaultInfo* fi = nullptr;
  for (const auto& f : fault_table()) {
    if (name == f.name) fi = &f;
  }
  if (!fi) {
    std::string list;
    for (const auto& n : fault_names()) list += (list.empty() ? "" : ", ") + n;
    return invalid_argument(fault_where + ": '" + name + "' is not a fault (one of: " + list + ")");
  }
  FaultSpec f;
  f.kind = fi->kind;
  for (const auto& [key, p] : params) {
    if (key != fi->target_key && !fi->params.count(key)) {
      return bad(p, "does not apply to fault " + name);
    }
  }
  auto target = params.find(fi->target_key);
  if (target == params.end() || target->second.value.empty()) {
    return invalid_argument(fault_where + ": fault " + name + " needs " +
                            key_name(fi->target_key) +
                            (std::string(fi->target_key) == "link"
                                 ? " (a link name, clients, probes, replication, a region or all)"
                                 : " (primary, secondary" +
                                       std::string(fi->kind == Kind::kOutage ||
                                                           fi->kind == Kind::kClockSkew ||
                                                           fi->kind == Kind::kClockDrift
                                                       ? ")"
                                                       : ", trafficmgr)")));
  }
  f.target = target->second.value;
  auto get = [&](const char* key) -> const FaultParam* {
    auto it = params.find(key);
    return it == params.end() ? nullptr : &it->second;
  };
  if (!f.is_link_fault()) {
    std::set<std::string> allowed = {"primary", "secondary"};
    if (f.kind != Kind::kOutage && f.kind != Kind::kClockSkew && f.kind != Kind::kClockDrift) {
      allowed.insert("trafficmgr");
    }
    if (!allowed.count(f.target)) {
      return bad(target->second,
                 "'" + f.target + "' is not " +
                     (allowed.count("trafficmgr") ? "a daemon (primary, secondary, trafficmgr)"
                                                  : "a region (primary, secondary)"));
    }
  }
  if (const auto* d = get("direction")) {
    if (d->value == "up") {
      f.direction = drsim::v1::DIRECTION_UP;
    } else if (d->value == "down") {
      f.direction = drsim::v1::DIRECTION_DOWN;
    } else if (d->value == "both") {
      f.direction = drsim::v1::DIRECTION_BOTH;
    } else {
      return bad(*d, "'" + d->value + "' is not up, down or both");
    }
  }
  if (const auto* m = get("mode")) {
    if (m->value == "drop") {
      f.partition_mode = drsim::v1::PARTITION_DROP;
    } else if (m->value == "blackhole") {
      f.partition_mode = drsim::v1::PARTITION_BLACKHOLE;
    } else {
      return bad(*m, "'" + m->value + "' is not drop or blackhole");
    }
  }
  if (const auto* m = get("mechanism")) {
    if (m->value == "proxy") {
      f.mechanism = FaultSpec::Mechanism::kProxy;
    } else if (m->value == "kernel") {
      f.mechanism = FaultSpec::Mechanism::kKernel;
    } else if (m->value == "auto") {
      f.mechanism = FaultSpec::Mechanism::kAuto;
    } else {
      return bad(*m, "'" + m->value + "' is not proxy, kernel or auto");
    }
    if (f.kind == Kind::kLoss && f.mechanism == FaultSpec::Mechanism::kProxy) {
      return bad(*m, "loss needs mechanism kernel: the fault proxy relays a TCP stream and has no "
                     "packets to drop");
    }
  } else if (f.kind == Kind::kLoss) {
    f.mechanism = FaultSpec::Mechanism::kKernel;
  }
  auto required = [&](const char* key) -> Result<const FaultParam*> {
    const FaultParam* p = get(key);
    if (!p) return invalid_argument(fault_where + ": fault " + name + " needs " + key_name(key));
    return p;
  };
  switch (f.kind) {
    case Kind::kLatency: {
      auto l = required("latency_ms");
      if (!l.is_ok()) return l.status();
      if (Status s = read_u32(**l, 0, 600'000, &f.latency_ms); !s.is_ok()) return s;
      if (const auto* j = get("jitter_ms")) {
        if (Status s = read_u32(*j, 0, f.latency_ms, &f.jitter_ms); !s.is_ok()) return s;
      }
      break;
    }
    case Kind::kBandwidth: {
      auto b = required("bytes_per_second");
      if (!b.is_ok()) return b.status();
      if (Status s = read_u64(**b, 1, 10'000'000'000ull, &f.bytes_per_second); !s.is_ok()) {
        return s;
      }
      if (const auto* burst = get("burst_bytes")) {
        if (Status s = read_u64(*burst, 0, 10'000'000'000ull, &f.burst_bytes); !s.is_ok()) {
          return s;
        }
      }
      break;
    }
    case Kind::kLoss: {
      auto pct = required("percent");
      if (!pct.is_ok()) return pct.status();
      if (Status s = read_u32(**pct, 1, 100, &f.loss_percent); !s.is_ok()) return s;
      break;
    }
    case Kind::kReset:
      if (const auto* k = get("keep")) {
        if (k->value != "true" && k->value != "false") return bad(*k, "must be true or false");
        f.reset_keep = k->value == "true";
      }
      break;
    case Kind::kStall: {
      auto st = required("stall_ms");
      if (!st.is_ok()) return st.status();
      if (Status s = read_u32(**st, 1, 600'000, &f.stall_ms); !s.is_ok()) return s;
      f.interval_ms = 1000;
      if (const auto* i = get("interval_ms")) {
        if (Status s = read_u32(*i, 10, 3'600'000, &f.interval_ms); !s.is_ok()) return s;
      }
      break;
    }
    case Kind::kClockSkew: {
      auto o = required("offset_ms");
      if (!o.is_ok()) return o.status();
      if (Status s = read_signed(**o, 86'400'000, "milliseconds", &f.offset_ms); !s.is_ok()) {
        return s;
      }
      break;
    }
    case Kind::kClockDrift: {
      auto d = required("drift_ppm");
      if (!d.is_ok()) return d.status();
      if (Status s = read_signed(**d, 400'000, "ppm", &f.drift_ppm); !s.is_ok()) return s;
      if (const auto* b = get("beyond_bound")) {
        if (b->value != "true" && b->value != "false") return bad(*b, "must be true or false");
        f.beyond_bound = b->value == "true";
      }
      break;
    }
    default: break;
  }
  return f;
}

Result<std::vector<std::string>> resolve_links(const TopologyState& state,
                                               const std::string& selector) {
  if (state.links.empty()) {
    return failed_precondition("this topology runs without the fault proxy (fault_proxy.enabled: "
                               "false), so it has no links to fault");
  }
  std::vector<std::string> out;
  for (const auto& [name, l] : state.links) {
    bool match = selector == "all" || selector == name ||
                 (selector == "clients" && l.from == "clients") ||
                 // The Traffic Manager's links: its probes, and the regions' lease witness.
                 (selector == "probes" && (l.from == "trafficmgr" || l.to == "trafficmgr")) ||
                 (selector == "replication" && name.starts_with("repl.")) ||
                 (is_region(selector) && (l.from == selector || l.to == selector));
    if (match) out.push_back(name);
  }
  if (out.empty()) {
    std::string list;
    for (const auto& [name, l] : state.links) list += ", " + name;
    return invalid_argument("link '" + selector +
                            "' is not a link or group (clients, probes, replication, primary, "
                            "secondary, all" +
                            list + ")");
  }
  return out;
}

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

Result<std::string> inject_fault(TopologyState& state, const FaultSpec& requested) {
  if (Status s = check_fault_is_local(state, requested); !s.is_ok()) return s;
  FaultSpec f = requested;
  std::string auto_note;
  if (f.is_link_fault() && f.mechanism == FaultSpec::Mechanism::kAuto) {
    f.mechanism = FaultSpec::Mechanism::kKernel;
    if (!state.netns && f.kind != Kind::kLoss) {
      f.mechanism = FaultSpec::Mechanism::kProxy;
      auto_note = " (mechanism auto: fault proxy, the topology runs on loopback)";
    } else if (state.netns && f.kind == Kind::kLatency &&
               !check_netem(state.netns->layout.find("faultproxy")->netns, f.describe(),
                            netns_log(state))
                    .is_ok()) {
      f.mechanism = FaultSpec::Mechanism::kProxy;
      auto_note = " (mechanism auto: fault proxy, tc netem is not available on this kernel)";
    } else {
      auto_note = " (mechanism auto)";
    }
  }
  if (f.is_link_fault() && f.mechanism == FaultSpec::Mechanism::kKernel) {
    auto done = inject_kernel_fault(state, f);
    if (!done.is_ok()) return done.status();
    return *done + auto_note;
  }
  if (f.is_link_fault()) {
    auto links = resolve_links(state, f.target);
    if (!links.is_ok()) return links.status();
    if (Status s = set_link_fault(state, *links, to_proto(f), f.direction); !s.is_ok()) return s;
    return f.describe() + (links->size() > 1 || (*links)[0] != f.target
                               ? " [" + joined(*links) + "]"
                               : "") +
           auto_note;
  }
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
    case Kind::kOutage: {
      // A region down: the daemon answers only its admin API and every link touching the
      // region drops (connections reset, bytes discarded) both ways.
      if (Status s = region_set_outage(p.address, true); !s.is_ok()) return s;
      std::string links_note;
      if (!state.links.empty()) {
        auto links = resolve_links(state, f.target);
        if (!links.is_ok()) return links.status();
        drsim::v1::Fault drop;
        drop.mutable_partition()->set_mode(drsim::v1::PARTITION_DROP);
        if (Status s = set_link_fault(state, *links, drop, drsim::v1::DIRECTION_BOTH);
            !s.is_ok()) {
          return s;
        }
        links_note = " and its links partitioned [" + joined(*links) + "]";
      }
      return "outage of region " + f.target + links_note;
    }
    case Kind::kClockSkew:
      if (Status s = region_set_clock_offset(p.address, f.offset_ms); !s.is_ok()) return s;
      return fmt::format("{}'s wall clock now runs {:+} ms off", f.target, f.offset_ms);
    case Kind::kClockDrift: {
      // The lease holds while no two processes' clock rates differ by more than its bound ε:
      // check the new rate against the other region's (as it reports it) and the Traffic
      // Manager's (never drifted).
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
    default: break;
  }
  return internal_error("unhandled fault " + f.describe());
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
