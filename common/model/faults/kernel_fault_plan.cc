#include "common/model/faults/kernel_fault_plan.h"

#include <algorithm>

namespace drsim::model {

namespace {

std::string ms(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

// Which direction of a link is shaped in `netns`: `down` in the proxy's namespace (its answers
// leave there), `up` in the sender's.
const KernelDirectionFaults* shaping_in(const std::string& netns, const KernelLink& l) {
  if (netns == l.place.proxy_netns && l.faults.down.uses_tc()) return &l.faults.down;
  if (!l.place.from_netns.empty() && netns == l.place.from_netns && l.faults.up.uses_tc()) {
    return &l.faults.up;
  }
  return nullptr;
}

Command in_netns(const std::string& netns, std::initializer_list<std::string> args) {
  Command c = netns_exec(netns);
  c.insert(c.end(), args.begin(), args.end());
  return c;
}

void add_rules(std::string* out, const std::string& match, const KernelDirectionFaults& d) {
  if (d.partition) {
    *out += "    " + match +
            (*d.partition == PartitionMode::kDrop ? " reject with tcp reset\n" : " drop\n");
  }
  if (d.loss_percent > 0) {
    *out +=
        "    " + match + " numgen random mod 100 < " + std::to_string(d.loss_percent) + " drop\n";
  }
}

}  // namespace

Status check_kernel_fault(const KernelLinkPlace& place, const KernelLinkFaults& faults,
                          const std::string& where) {
  if (place.from_netns.empty() && faults.up.uses_tc()) {
    return invalid_argument(
        where + ": link " + place.link +
        " starts in the host's namespace (the clients), so shaping its up direction would "
        "shape a host interface; use direction down, or the fault proxy (mechanism proxy)");
  }
  if (place.index < 1 || place.index > 99) {
    return invalid_argument(where + ": link " + place.link + " has no kernel rule slot");
  }
  return Status::ok();
}

std::string nft_ruleset(const std::vector<KernelLink>& links) {
  std::string up, down;
  for (const auto& l : links) {
    const std::string port = std::to_string(l.place.proxy_port);
    add_rules(&up, "tcp dport " + port, l.faults.up);
    add_rules(&down, "tcp sport " + port, l.faults.down);
  }
  if (up.empty() && down.empty()) return "";
  const std::string t = std::string("inet ") + kNftTable;
  // Declaring and deleting first makes `nft -f` replace the table atomically.
  return "table " + t + "\ndelete table " + t + "\ntable " + t + " {\n" +
         "  chain up {\n    type filter hook input priority 0; policy accept;\n" + up +
         "  }\n  chain down {\n    type filter hook output priority 0; policy accept;\n" + down +
         "  }\n}\n";
}

bool shapes_in(const std::string& netns, const std::vector<KernelLink>& links) {
  return std::any_of(links.begin(), links.end(),
                     [&](const KernelLink& l) { return shaping_in(netns, l) != nullptr; });
}

std::vector<Command> tc_commands(const std::string& netns, const std::vector<KernelLink>& links,
                                 bool had_root) {
  std::vector<Command> out;
  if (had_root) out.push_back(in_netns(netns, {"tc", "qdisc", "del", "dev", "eth0", "root"}));
  if (!shapes_in(netns, links)) return out;
  // htb's default class 0: unclassified traffic goes out directly, unshaped.
  out.push_back(
      in_netns(netns, {"tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb"}));
  for (const auto& l : links) {
    const KernelDirectionFaults* d = shaping_in(netns, l);
    if (!d) continue;
    const std::string cls = std::to_string(10 + l.place.index);
    std::string rate = "10gbit", burst = "64kb";
    if (d->rate) {
      rate = std::to_string(d->rate->bytes_per_second) + "bps";  // tc: bps = bytes per second
      uint64_t b = d->rate->burst_bytes ? d->rate->burst_bytes
                                        : default_burst_bytes(d->rate->bytes_per_second);
      burst = std::to_string(std::max<uint64_t>(b, 3000)) + "b";
    }
    out.push_back(in_netns(netns, {"tc", "class", "add", "dev", "eth0", "parent", "1:", "classid",
                                   "1:" + cls, "htb", "rate", rate, "ceil", rate, "burst", burst}));
    if (d->delay) {
      Command c = in_netns(netns, {"tc", "qdisc", "add", "dev", "eth0", "parent", "1:" + cls,
                                   "handle", cls + ":", "netem", "delay", ms(d->delay->latency)});
      if (d->delay->jitter > Duration::zero()) c.push_back(ms(d->delay->jitter));
      out.push_back(c);
    }
    const std::string port = std::to_string(l.place.proxy_port);
    Command filter =
        in_netns(netns, {"tc", "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip",
                         "prio", std::to_string(10 + l.place.index), "u32"});
    if (d == &l.faults.down) {
      filter.insert(filter.end(), {"match", "ip", "sport", port, "0xffff"});
    } else {
      filter.insert(filter.end(), {"match", "ip", "dst", l.place.proxy_address + "/32", "match",
                                   "ip", "dport", port, "0xffff"});
    }
    filter.insert(filter.end(), {"flowid", "1:" + cls});
    out.push_back(filter);
  }
  return out;
}

Command netem_probe_command(const std::string& netns) {
  return in_netns(netns, {"tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"});
}

Status netem_unavailable(const std::string& where) {
  return invalid_argument(where +
                          ": tc netem is not available on this kernel (\"Specified qdisc kind "
                          "is unknown\": no sch_netem), so kernel delay, jitter, reordering and "
                          "duplication cannot be applied; use the fault proxy for latency "
                          "(mechanism proxy) on this host");
}

}  // namespace drsim::model
