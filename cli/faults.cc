// Faults, part one: what `drsim inject` accepts — the fault table, a fault's parameters checked
// (make_fault) and described, and the link names and groups resolved. Injecting and healing are
// in faults_inject.cc.
#include "cli/faults.h"

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

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
  uint64_t v = 0;
  // from_chars: 20 digits can pass 2^64 (stoull threw, and a drill file with such a value
  // aborted `drsim drill validate`).
  if (std::from_chars(t.data(), t.data() + t.size(), v).ec != std::errc()) {
    return bad(p, fmt::format("{} is out of range {}..{}", t, min, max));
  }
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

namespace {

// What make_fault was given, and how its errors name a parameter.
struct FaultInput {
  const std::string& name;
  const std::map<std::string, FaultParam>& params;
  const std::string& fault_where;
  ParamStyle style;

  // `key` as the user wrote it: the drill file's key, or the command line's --flag.
  std::string key_name(std::string key) const {
    if (style == ParamStyle::kDrillKey) return key;
    std::replace(key.begin(), key.end(), '_', '-');
    return "--" + key;
  }
  const FaultParam* get(const char* key) const {
    auto it = params.find(key);
    return it == params.end() ? nullptr : &it->second;
  }
  Result<const FaultParam*> required(const char* key) const {
    const FaultParam* p = get(key);
    if (!p) return invalid_argument(fault_where + ": fault " + name + " needs " + key_name(key));
    return p;
  }
};

// true or false into *out, when given.
Status read_flag(const FaultParam* p, bool* out) {
  if (!p) return Status::ok();
  if (p->value != "true" && p->value != "false") return bad(*p, "must be true or false");
  *out = p->value == "true";
  return Status::ok();
}

// The fault's target: a link (selector), or a region / daemon that the fault can hit.
Status read_target(const FaultInput& in, const FaultInfo& fi, FaultSpec* f) {
  auto target = in.params.find(fi.target_key);
  if (target == in.params.end() || target->second.value.empty()) {
    return invalid_argument(
        in.fault_where + ": fault " + in.name + " needs " + in.key_name(fi.target_key) +
        (std::string(fi.target_key) == "link"
             ? " (a link name, clients, probes, replication, a region or all)"
             : " (primary, secondary" + std::string(fi.kind == Kind::kOutage ||
                                                            fi.kind == Kind::kClockSkew ||
                                                            fi.kind == Kind::kClockDrift
                                                        ? ")"
                                                        : ", trafficmgr)")));
  }
  f->target = target->second.value;
  if (f->is_link_fault()) return Status::ok();
  std::set<std::string> allowed = {"primary", "secondary"};
  if (f->kind != Kind::kOutage && f->kind != Kind::kClockSkew && f->kind != Kind::kClockDrift) {
    allowed.insert("trafficmgr");
  }
  if (!allowed.count(f->target)) {
    return bad(target->second,
               "'" + f->target + "' is not " +
                   (allowed.count("trafficmgr") ? "a daemon (primary, secondary, trafficmgr)"
                                                : "a region (primary, secondary)"));
  }
  return Status::ok();
}

// direction, mode (partition) and mechanism (loss defaults to, and needs, the kernel's).
Status read_link_options(const FaultInput& in, FaultSpec* f) {
  if (const auto* d = in.get("direction")) {
    if (d->value == "up") {
      f->direction = drsim::v1::DIRECTION_UP;
    } else if (d->value == "down") {
      f->direction = drsim::v1::DIRECTION_DOWN;
    } else if (d->value == "both") {
      f->direction = drsim::v1::DIRECTION_BOTH;
    } else {
      return bad(*d, "'" + d->value + "' is not up, down or both");
    }
  }
  if (const auto* m = in.get("mode")) {
    if (m->value == "drop") {
      f->partition_mode = drsim::v1::PARTITION_DROP;
    } else if (m->value == "blackhole") {
      f->partition_mode = drsim::v1::PARTITION_BLACKHOLE;
    } else {
      return bad(*m, "'" + m->value + "' is not drop or blackhole");
    }
  }
  if (const auto* m = in.get("mechanism")) {
    if (m->value == "proxy") {
      f->mechanism = FaultSpec::Mechanism::kProxy;
    } else if (m->value == "kernel") {
      f->mechanism = FaultSpec::Mechanism::kKernel;
    } else if (m->value == "auto") {
      f->mechanism = FaultSpec::Mechanism::kAuto;
    } else {
      return bad(*m, "'" + m->value + "' is not proxy, kernel or auto");
    }
    if (f->kind == Kind::kLoss && f->mechanism == FaultSpec::Mechanism::kProxy) {
      return bad(*m, "loss needs mechanism kernel: the fault proxy relays a TCP stream and has no "
                     "packets to drop");
    }
  } else if (f->kind == Kind::kLoss) {
    f->mechanism = FaultSpec::Mechanism::kKernel;
  }
  return Status::ok();
}

// latency_ms (required) and jitter_ms (up to the latency).
Status read_latency(const FaultInput& in, FaultSpec* f) {
  auto l = in.required("latency_ms");
  if (!l.is_ok()) return l.status();
  if (Status s = read_u32(**l, 0, 600'000, &f->latency_ms); !s.is_ok()) return s;
  if (const auto* j = in.get("jitter_ms")) return read_u32(*j, 0, f->latency_ms, &f->jitter_ms);
  return Status::ok();
}

// bytes_per_second (required) and burst_bytes.
Status read_bandwidth(const FaultInput& in, FaultSpec* f) {
  auto b = in.required("bytes_per_second");
  if (!b.is_ok()) return b.status();
  if (Status s = read_u64(**b, 1, 10'000'000'000ull, &f->bytes_per_second); !s.is_ok()) {
    return s;
  }
  if (const auto* burst = in.get("burst_bytes")) {
    return read_u64(*burst, 0, 10'000'000'000ull, &f->burst_bytes);
  }
  return Status::ok();
}

// stall_ms (required) every interval_ms (1000 unless given).
Status read_stall(const FaultInput& in, FaultSpec* f) {
  auto st = in.required("stall_ms");
  if (!st.is_ok()) return st.status();
  if (Status s = read_u32(**st, 1, 600'000, &f->stall_ms); !s.is_ok()) return s;
  f->interval_ms = 1000;
  if (const auto* i = in.get("interval_ms")) return read_u32(*i, 10, 3'600'000, &f->interval_ms);
  return Status::ok();
}

// The parameters of the fault's kind (the kill / pause / ... of a daemon take none).
Status read_kind_params(const FaultInput& in, FaultSpec* f) {
  switch (f->kind) {
    case Kind::kLatency:
      return read_latency(in, f);
    case Kind::kBandwidth:
      return read_bandwidth(in, f);
    case Kind::kLoss: {
      auto pct = in.required("percent");
      if (!pct.is_ok()) return pct.status();
      return read_u32(**pct, 1, 100, &f->loss_percent);
    }
    case Kind::kReset:
      return read_flag(in.get("keep"), &f->reset_keep);
    case Kind::kStall:
      return read_stall(in, f);
    case Kind::kClockSkew: {
      auto o = in.required("offset_ms");
      if (!o.is_ok()) return o.status();
      return read_signed(**o, 86'400'000, "milliseconds", &f->offset_ms);
    }
    case Kind::kClockDrift: {
      auto d = in.required("drift_ppm");
      if (!d.is_ok()) return d.status();
      if (Status s = read_signed(**d, 400'000, "ppm", &f->drift_ppm); !s.is_ok()) return s;
      return read_flag(in.get("beyond_bound"), &f->beyond_bound);
    }
    default:
      return Status::ok();
  }
}

}  // namespace

Result<FaultSpec> make_fault(const std::string& name,
                             const std::map<std::string, FaultParam>& params,
                             const std::string& fault_where, ParamStyle style) {
  const FaultInput in{name, params, fault_where, style};
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
  if (Status s = read_target(in, *fi, &f); !s.is_ok()) return s;
  if (Status s = read_link_options(in, &f); !s.is_ok()) return s;
  if (Status s = read_kind_params(in, &f); !s.is_ok()) return s;
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

}  // namespace drsim::cli
