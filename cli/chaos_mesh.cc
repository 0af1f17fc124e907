#include "cli/chaos_mesh.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/model/faults/link_fault.h"

namespace drsim::cli {

namespace {

using Kind = FaultSpec::Kind;

// The fault's name as drill files spell it (cli/faults.cc's table); a switch without a default,
// so a new kind is a compiler warning here as well as a failing test.
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kKill:
      return "kill";
    case Kind::kPause:
      return "pause";
    case Kind::kResume:
      return "resume";
    case Kind::kRestart:
      return "restart";
    case Kind::kOutage:
      return "outage";
    case Kind::kPartition:
      return "partition";
    case Kind::kLatency:
      return "latency";
    case Kind::kBandwidth:
      return "bandwidth";
    case Kind::kLoss:
      return "loss";
    case Kind::kReset:
      return "reset";
    case Kind::kStall:
      return "stall";
    case Kind::kClockSkew:
      return "clock-skew";
    case Kind::kClockDrift:
      return "clock-drift";
  }
  return "fault";
}

// A Go duration Chaos Mesh accepts: "12s", or "1500ms" when not whole seconds.
std::string go_duration(double seconds) {
  const auto ms = static_cast<int64_t>(std::llround(seconds * 1000));
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

YAML::Node pod_selector(const std::string& daemon, const ChaosMeshPlacement& placement) {
  YAML::Node s;
  s["namespaces"].push_back(placement.namespace_for(daemon));
  s["labelSelectors"][kK8sNameLabel] = kK8sNameValue;
  s["labelSelectors"][kK8sComponentLabel] = daemon;
  return s;
}

// apiVersion, kind, metadata and the spec's mode, selector and duration.
YAML::Node chaos_object(const char* kind, const std::string& name, const std::string& daemon,
                        const FaultSpec& fault, const ChaosMeshWindow& window,
                        const ChaosMeshPlacement& placement) {
  YAML::Node o;
  o["apiVersion"] = kChaosMeshApiVersion;
  o["kind"] = kind;
  o["metadata"]["name"] = dns_label(name);
  o["metadata"]["namespace"] = placement.namespace_for(daemon);
  o["metadata"]["labels"][kK8sNameLabel] = kK8sNameValue;
  o["metadata"]["annotations"]["drsim.io/fault"] = fault.describe();
  o["metadata"]["annotations"]["drsim.io/start-after"] = go_duration(window.start_s);
  if (window.approximate) {
    o["metadata"]["annotations"]["drsim.io/timing"] =
        "approximate: a wait_until (counted at its timeout) or a failover (counted as 0 s) comes "
        "before the end of this fault";
  }
  o["spec"]["mode"] = "all";
  o["spec"]["selector"] = pod_selector(daemon, placement);
  if (window.duration_s && *window.duration_s > 0) {
    o["spec"]["duration"] = go_duration(*window.duration_s);
  }
  return o;
}

// The (source pod, destination pod) pairs whose packets a link fault touches, in the
// fault's direction; a link from the clients (outside the cluster) is listed as unsupported.
std::set<std::pair<std::string, std::string>> faulted_packets(const FaultSpec& f,
                                                              ChaosMeshFault* out) {
  std::set<std::pair<std::string, std::string>> packets;
  for (const auto& link : links_of_selector(f.target)) {
    const LinkEnds& ends = topology_links().at(link);
    if (ends.from == "clients") {
      out->unsupported.push_back(fmt::format(
          "{} on link {}: drsim's clients run outside the cluster, so there is no client pod to "
          "select",
          kind_name(f.kind), link));
      continue;
    }
    if (f.direction != drsim::v1::DIRECTION_DOWN) packets.insert({ends.from, ends.to});
    if (f.direction != drsim::v1::DIRECTION_UP) packets.insert({ends.to, ends.from});
  }
  return packets;
}

// tc's token bucket for a bandwidth fault: Chaos Mesh's "bps" is bytes per second, as drsim's
// bytes_per_second.
void set_bandwidth(const FaultSpec& f, YAML::Node spec) {
  spec["action"] = "bandwidth";
  spec["bandwidth"]["rate"] = fmt::format("{}bps", f.bytes_per_second);
  uint64_t burst =
      f.burst_bytes > 0 ? f.burst_bytes : model::default_burst_bytes(f.bytes_per_second);
  const uint64_t kMaxU32 = 0xffffffffull;
  // tc's token bucket drops a packet bigger than its bucket: at least one Ethernet frame.
  constexpr uint64_t kMinBucketBytes = 1600;
  burst = std::max(burst, kMinBucketBytes);
  spec["bandwidth"]["buffer"] = std::min(burst, kMaxU32);
  // Bytes queued before tc drops: one second's worth, never below the burst.
  spec["bandwidth"]["limit"] = std::min(std::max(f.bytes_per_second, burst), kMaxU32);
}

// The NetworkChaos action of a link fault, in `o`'s spec (and a note for a partition).
void set_network_action(const FaultSpec& f, YAML::Node o) {
  YAML::Node spec = o["spec"];  // a handle: writes go to o
  switch (f.kind) {
    case Kind::kPartition:
      spec["action"] = "partition";
      o["metadata"]["annotations"]["drsim.io/note"] =
          f.partition_mode == drsim::v1::PARTITION_BLACKHOLE
              ? "Chaos Mesh drops the packets; connections hang as in drsim's blackhole"
              : "Chaos Mesh drops the packets; drsim's drop mode also resets the connections, "
                "here they hang until their deadlines";
      break;
    case Kind::kLatency:
      spec["action"] = "delay";
      spec["delay"]["latency"] = fmt::format("{}ms", f.latency_ms);
      spec["delay"]["jitter"] = fmt::format("{}ms", f.jitter_ms);
      break;
    case Kind::kLoss:
      // Chaos Mesh drops this share of packets with netem, as drsim's nftables rule does
      // (drsim's drops are independent: no correlation).
      spec["action"] = "loss";
      // Both are strings in Chaos Mesh's schema: tagged, so "5" is not read back as a number.
      spec["loss"]["loss"] = std::to_string(f.loss_percent);
      spec["loss"]["loss"].SetTag("tag:yaml.org,2002:str");
      spec["loss"]["correlation"] = "0";
      spec["loss"]["correlation"].SetTag("tag:yaml.org,2002:str");
      break;
    case Kind::kBandwidth:
      set_bandwidth(f, spec);
      break;
    default:
      break;
  }
}

// Link faults: NetworkChaos between the pods at the links' ends. Chaos Mesh filters packets by
// pod pair, not by connection, so the faults of links between the same two pods merge.
void network_chaos(const FaultSpec& f, const ChaosMeshWindow& window, const std::string& name,
                   const ChaosMeshPlacement& placement, ChaosMeshFault* out) {
  const auto packets = faulted_packets(f, out);
  std::set<std::pair<std::string, std::string>> done;
  for (const auto& [src, dst] : packets) {
    if (done.count({src, dst})) continue;
    const bool both = packets.count({dst, src}) > 0;
    done.insert({src, dst});
    done.insert({dst, src});
    YAML::Node o =
        chaos_object("NetworkChaos", name + "-" + src + "-" + dst, src, f, window, placement);
    o["spec"]["direction"] = both ? "both" : "to";
    o["spec"]["target"]["mode"] = "all";
    o["spec"]["target"]["selector"] = pod_selector(dst, placement);
    set_network_action(f, o);
    out->objects.push_back(std::move(o));
  }
}

}  // namespace

const std::string& ChaosMeshPlacement::namespace_for(const std::string& daemon) const {
  auto it = namespace_of.find(daemon);
  return it == namespace_of.end() ? default_namespace : it->second;
}

const std::map<std::string, LinkEnds>& topology_links() {
  static const std::map<std::string, LinkEnds> links = {
      {"repl.primary-secondary", {"primary", "secondary"}},
      {"repl.secondary-primary", {"secondary", "primary"}},
      {"client.primary", {"clients", "primary"}},
      {"client.secondary", {"clients", "secondary"}},
      {"probe.primary", {"trafficmgr", "primary"}},
      {"probe.secondary", {"trafficmgr", "secondary"}},
      {"witness.primary", {"primary", "trafficmgr"}},
      {"witness.secondary", {"secondary", "trafficmgr"}},
  };
  return links;
}

std::vector<std::string> links_of_selector(const std::string& selector) {
  // The same groups as resolve_links (cli/faults.cc), on the static link list.
  std::vector<std::string> out;
  for (const auto& [name, l] : topology_links()) {
    const bool region = selector == "primary" || selector == "secondary";
    if (selector == "all" || selector == name || (selector == "clients" && l.from == "clients") ||
        (selector == "probes" && (l.from == "trafficmgr" || l.to == "trafficmgr")) ||
        (selector == "replication" && name.starts_with("repl.")) ||
        (region && (l.from == selector || l.to == selector))) {
      out.push_back(name);
    }
  }
  return out;
}

std::string dns_label(const std::string& text) {
  std::string out;
  for (char c : text) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (ok) {
      out += l;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "drsim" : out;
}

namespace {

// Why Chaos Mesh cannot express a fault; "" for the faults it can.
const char* why_no_equivalent(Kind k) {
  switch (k) {
    case Kind::kPause:
      return "PodChaos kills or fails a pod, it cannot SIGSTOP its process (a frozen region "
             "keeps its connections open; a failed pod's are reset)";
    case Kind::kReset:
      return "NetworkChaos cannot reset open TCP connections";
    case Kind::kStall:
      return "NetworkChaos has no periodic stall windows (a Schedule of short partitions comes "
             "close; not generated)";
    case Kind::kClockDrift:
      return "TimeChaos shifts a clock by a fixed offset, it cannot change the clock's rate";
    default:
      return "";
  }
}

YAML::Node pod_chaos(const FaultSpec& f, const ChaosMeshWindow& window, const std::string& name,
                     const ChaosMeshPlacement& placement, const char* action, const char* note) {
  YAML::Node o = chaos_object("PodChaos", name, f.target, f, window, placement);
  o["spec"]["action"] = action;
  o["metadata"]["annotations"]["drsim.io/note"] = note;
  return o;
}

// A kill: down for the window when the drill restarts the daemon, else killed once.
YAML::Node kill_chaos(const FaultSpec& f, const ChaosMeshWindow& window, const std::string& name,
                      const ChaosMeshPlacement& placement) {
  if (window.duration_s) {
    return pod_chaos(f, window, name, placement, "pod-failure",
                     "drsim kills the daemon and restarts it later: pod-failure keeps the pod "
                     "down for the same time");
  }
  return pod_chaos(f, window, name, placement, "pod-kill",
                   "the drill never restarts the daemon, but Kubernetes restarts a killed pod at "
                   "once; use pod-failure with a duration to keep it down");
}

YAML::Node time_chaos(const FaultSpec& f, const ChaosMeshWindow& window, const std::string& name,
                      const ChaosMeshPlacement& placement) {
  YAML::Node o = chaos_object("TimeChaos", name, f.target, f, window, placement);
  o["spec"]["timeOffset"] =
      fmt::format("{}{}ms", f.offset_ms < 0 ? "-" : "", std::llabs(f.offset_ms));
  // drsim's skew moves the wall clock only; the monotonic clock (leases, timers) keeps time.
  o["spec"]["clockIds"].push_back("CLOCK_REALTIME");
  o["spec"]["containerNames"].push_back(f.target);
  return o;
}

}  // namespace

ChaosMeshFault chaos_mesh_fault(const FaultSpec& f, const ChaosMeshWindow& window,
                                const std::string& name, const ChaosMeshPlacement& placement) {
  ChaosMeshFault out;
  switch (f.kind) {
    case Kind::kKill:
      out.objects.push_back(kill_chaos(f, window, name, placement));
      return out;
    case Kind::kResume:
    case Kind::kRestart:
      out.ends_earlier_fault = true;  // the window of the pause / kill it ends
      return out;
    case Kind::kOutage:
      out.objects.push_back(pod_chaos(
          f, window, name, placement, "pod-failure",
          "drsim's outage keeps the daemon answering its admin API; pod-failure stops the "
          "pod's process altogether for the same time"));
      return out;
    case Kind::kPartition:
    case Kind::kLatency:
    case Kind::kBandwidth:
    case Kind::kLoss:
      network_chaos(f, window, name, placement, &out);
      return out;
    case Kind::kClockSkew:
      out.objects.push_back(time_chaos(f, window, name, placement));
      return out;
    case Kind::kPause:
    case Kind::kReset:
    case Kind::kStall:
    case Kind::kClockDrift:
      out.unsupported.push_back(std::string(kind_name(f.kind)) + " on " + f.target +
                                ": no Chaos Mesh equivalent: " + why_no_equivalent(f.kind));
      return out;
  }
  out.unsupported.push_back(std::string(kind_name(f.kind)) + " on " + f.target +
                            ": no Chaos Mesh mapping yet");
  return out;
}

namespace {

// Does heal `target` ("" = all) end `fault`? As heal_faults does: a daemon heals its pause,
// outage and clock faults; a link selector (or a region) heals the faults of its links.
bool heal_covers(const std::string& target, const FaultSpec& fault) {
  if (target.empty()) return fault.kind != Kind::kKill;
  if (fault.is_link_fault()) {
    const auto healed = links_of_selector(target);
    for (const auto& l : links_of_selector(fault.target)) {
      if (std::find(healed.begin(), healed.end(), l) != healed.end()) return true;
    }
    return false;
  }
  return fault.kind != Kind::kKill && target == fault.target;
}

// A fault the drill injects, from its step to the step that ends it (if any), on the drill's
// own clock.
struct OpenFault {
  FaultSpec fault;
  size_t step;
  double start_s;
  bool approximate;
  std::optional<double> end_s;
};

// Walks a drill's steps adding up the time they say they take: when each fault starts and
// ends, and whether a step of unknown length (a wait_until at its timeout, a failover, a plan)
// came before.
class DrillFaultTimes {
 public:
  void step(size_t i, const DrillStep& step) {
    switch (step.kind) {
      case DrillStep::Kind::kWait:
      case DrillStep::Kind::kPause:
        t_ += step.seconds;
        break;
      case DrillStep::Kind::kAt:
        t_ = std::max(t_, step.seconds);
        break;
      case DrillStep::Kind::kWaitUntil:
        t_ += step.timeout_s;
        approximate_ = true;
        break;
      case DrillStep::Kind::kInject:
        inject(i, step.fault);
        break;
      case DrillStep::Kind::kHeal:
        close([&](const FaultSpec& f) { return heal_covers(step.region, f); });
        break;
      default:
        // failover, reprotect, failback, plans, ...: they take a while the file does not say.
        approximate_ = true;
        break;
    }
  }
  const std::vector<OpenFault>& faults() const { return opened_; }
  double end_s() const { return t_; }
  bool approximate() const { return approximate_; }

 private:
  // A restart ends the daemon's kill, a resume its pause; any other fault opens.
  void inject(size_t i, const FaultSpec& fault) {
    if (fault.kind == Kind::kRestart) {
      close([&](const FaultSpec& f) { return f.kind == Kind::kKill && f.target == fault.target; });
    } else if (fault.kind == Kind::kResume) {
      close([&](const FaultSpec& f) { return f.kind == Kind::kPause && f.target == fault.target; });
    } else {
      opened_.push_back({fault, i, t_, approximate_, std::nullopt});
    }
  }
  template <typename Covers>
  void close(Covers&& covers) {
    for (auto& o : opened_) {
      if (!o.end_s && covers(o.fault)) {
        o.end_s = t_;
        o.approximate = o.approximate || approximate_;
      }
    }
  }

  std::vector<OpenFault> opened_;
  double t_ = 0;
  bool approximate_ = false;
};

// When a fault is in force: a fault the drill never ends lasts to the drill's end, except a
// kill (a pod-kill has no duration).
ChaosMeshWindow window_of(const OpenFault& o, const DrillFaultTimes& times) {
  ChaosMeshWindow window;
  window.start_s = o.start_s;
  window.approximate = o.approximate || (!o.end_s && times.approximate());
  const double end = o.end_s.value_or(times.end_s());
  if (o.end_s || o.fault.kind != Kind::kKill) window.duration_s = end - o.start_s;
  return window;
}

// The drill's name shortened so "-<step>-<fault>" and a NetworkChaos's "-<pod>-<pod>" (at most
// "-trafficmgr-secondary") fit the 63 characters of a Kubernetes name.
std::string object_name(const Drill& drill, const OpenFault& o) {
  std::string name = dns_label(drill.name);
  const std::string suffix = fmt::format("-{}-{}", o.step + 1, kind_name(o.fault.kind));
  constexpr size_t kMaxName = 63, kMaxPodPair = 21;
  name.resize(std::min(name.size(), kMaxName - kMaxPodPair - suffix.size()));
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name + suffix;
}

}  // namespace

ChaosMeshExport chaos_mesh_export(const Drill& drill, const ChaosMeshPlacement& placement) {
  DrillFaultTimes times;
  for (size_t i = 0; i < drill.steps.size(); ++i) times.step(i, drill.steps[i]);
  ChaosMeshExport out;
  out.faults = static_cast<int>(times.faults().size());
  for (const auto& o : times.faults()) {
    ChaosMeshFault mapped =
        chaos_mesh_fault(o.fault, window_of(o, times), object_name(drill, o), placement);
    for (auto& obj : mapped.objects) {
      // Annotation values must stay strings (the API server refuses a number): no bare "2".
      obj["metadata"]["annotations"]["drsim.io/drill"] = drill.name;
      obj["metadata"]["annotations"]["drsim.io/fault"] =
          fmt::format("step {}: {}", o.step + 1, o.fault.describe());
      out.objects.push_back(std::move(obj));
    }
    for (auto& u : mapped.unsupported) {
      out.unsupported.push_back(fmt::format("step {}: {}", o.step + 1, u));
    }
  }
  return out;
}

std::string chaos_mesh_yaml(const Drill& drill, const ChaosMeshExport& exported,
                            ChaosMeshDocuments documents) {
  std::string out = fmt::format(
      "# Chaos Mesh objects for drill '{}' ({}), made by `drsim drill export --chaos-mesh`.\n"
      "# Apply each object at its drsim.io/start-after (seconds after the client load started);\n"
      "# selectors match the pods of deploy/k8s (docs/deploy.md#chaos-mesh).\n"
      "# {} object(s) from {} fault(s).\n",
      drill.name, drill.source, exported.objects.size(), exported.faults);
  if (!exported.unsupported.empty()) {
    out += "# Not exported (no Chaos Mesh equivalent):\n";
    for (const auto& u : exported.unsupported) out += "#   " + u + "\n";
  }
  if (documents == ChaosMeshDocuments::kHeaderOnly) return out;
  for (const auto& o : exported.objects) {
    YAML::Emitter e;
    e << o;
    out += "---\n";
    out += e.c_str();
    out += "\n";
  }
  return out;
}

}  // namespace drsim::cli
