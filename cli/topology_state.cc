// topology.json: saving and loading a home's TopologyState (cli/topology.h).
#include "cli/topology.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli/child_process.h"
#include "cli/yaml_fields.h"
#include "cli/rpc_clients.h"

namespace drsim::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;


namespace {

json config_to_json(const TopologyConfig& c) {
  json wl = json::array();
  for (const auto& w : c.workloads) {
    wl.push_back({{"name", w.name}, {"mode", region::replication_mode_name(w.mode)}});
  }
  return {{"workloads", wl},
          {"profile", c.profile},
          {"probe_interval_ms", c.probe_interval_ms},
          {"probe_timeout_ms", c.probe_timeout_ms},
          {"tolerated_failures", c.tolerated_failures},
          {"ttl_ms", c.ttl_ms},
          {"fsync", c.fsync},
          {"fault_proxy", c.fault_proxy},
          {"fault_seed", c.fault_seed},
          {"unsafe_ack_before_standby", c.unsafe_ack_before_standby},
          {"lease_ms", c.lease_ms},
          {"lease_renew_interval_ms", c.lease_renew_interval_ms},
          {"unsafe_no_lease", c.unsafe_no_lease},
          {"transport", net::transport_security_name(c.transport)},
          {"placement", c.placement == Placement::kNetns ? "netns" : "loopback"},
          {"netns_subnet", c.netns_subnet}};
}

json direction_to_json(const model::KernelDirectionFaults& d) {
  json j = json::object();
  if (d.partition) j["partition"] = *d.partition == model::PartitionMode::kDrop ? "drop" : "blackhole";
  if (d.loss_percent) j["loss_percent"] = d.loss_percent;
  if (d.rate) j["rate"] = {{"bytes_per_second", d.rate->bytes_per_second},
                           {"burst_bytes", d.rate->burst_bytes}};
  if (d.delay) {
    j["delay"] = {{"latency_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                     d.delay->latency).count()},
                  {"jitter_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                    d.delay->jitter).count()}};
  }
  return j;
}

model::KernelDirectionFaults direction_from_json(const json& j) {
  model::KernelDirectionFaults d;
  if (j.contains("partition")) {
    d.partition = j.at("partition") == "drop" ? model::PartitionMode::kDrop
                                              : model::PartitionMode::kBlackhole;
  }
  d.loss_percent = j.value("loss_percent", 0u);
  if (j.contains("rate")) {
    d.rate = model::BandwidthFault{j.at("rate").at("bytes_per_second"),
                                   j.at("rate").at("burst_bytes")};
  }
  if (j.contains("delay")) {
    d.delay = model::LatencyFault{
        std::chrono::milliseconds(j.at("delay").at("latency_ms").get<int64_t>()),
        std::chrono::milliseconds(j.at("delay").at("jitter_ms").get<int64_t>())};
  }
  return d;
}

json netns_to_json(const NetnsState& n) {
  json members = json::array();
  for (const auto& m : n.layout.members) {
    members.push_back({{"name", m.name}, {"netns", m.netns}, {"host_veth", m.host_veth},
                       {"address", m.address}});
  }
  json faults = json::object();
  for (const auto& [link, f] : n.kernel_faults) {
    faults[link] = {{"up", direction_to_json(f.up)}, {"down", direction_to_json(f.down)}};
  }
  return {{"tag", n.layout.tag},
          {"subnet", n.layout.subnet.text()},
          {"bridge", n.layout.bridge},
          {"host_address", n.layout.host_address},
          {"members", members},
          {"kernel_faults", faults},
          {"tc_roots", n.tc_roots}};
}

NetnsState netns_from_json(const json& j) {
  NetnsState n;
  n.layout.tag = j.at("tag");
  auto subnet = model::parse_ipv4_net(j.at("subnet").get<std::string>(), "netns.subnet");
  if (subnet.is_ok()) n.layout.subnet = *subnet;
  n.layout.bridge = j.at("bridge");
  n.layout.host_address = j.at("host_address");
  for (const auto& m : j.at("members")) {
    n.layout.members.push_back({m.at("name"), m.at("netns"), m.at("host_veth"), m.at("address")});
  }
  const json faults = j.value("kernel_faults", json::object());
  for (const auto& [link, f] : faults.items()) {
    n.kernel_faults[link] = {direction_from_json(f.at("up")), direction_from_json(f.at("down"))};
  }
  n.tc_roots = j.value("tc_roots", std::set<std::string>{});
  return n;
}

TopologyConfig config_from_json(const json& j) {
  TopologyConfig c;
  c.workloads.clear();
  for (const auto& w : j.at("workloads")) {
    c.workloads.push_back({w.at("name").get<std::string>(),
                           w.at("mode").get<std::string>() == "sync"
                               ? region::ReplicationMode::kSync
                               : region::ReplicationMode::kAsync});
  }
  c.profile = j.at("profile");
  c.probe_interval_ms = j.at("probe_interval_ms");
  c.probe_timeout_ms = j.at("probe_timeout_ms");
  c.tolerated_failures = j.at("tolerated_failures");
  c.ttl_ms = j.at("ttl_ms");
  c.fsync = j.value("fsync", false);
  c.unsafe_ack_before_standby = j.value("unsafe_ack_before_standby", false);
  c.fault_proxy = j.value("fault_proxy", false);
  c.fault_seed = j.value("fault_seed", uint64_t{1});
  c.lease_ms = j.value("lease_ms", uint64_t{1000});
  c.lease_renew_interval_ms = j.value("lease_renew_interval_ms", uint64_t{250});
  c.unsafe_no_lease = j.value("unsafe_no_lease", false);
  // A topology.json written before mTLS started its daemons without it.
  c.transport = j.value("transport", "insecure") == "mtls" ? net::TransportSecurity::kMutualTls
                                                            : net::TransportSecurity::kInsecure;
  c.placement = j.value("placement", "loopback") == "netns" ? Placement::kNetns
                                                            : Placement::kLoopback;
  c.netns_subnet = j.value("netns_subnet", std::string(model::kDefaultNetnsSubnet));
  return c;
}

}  // namespace

Status save_state(const TopologyState& state) {
  json procs = json::object();
  for (const auto& [name, p] : state.processes) {
    procs[name] = {{"pid", p.pid},         {"start_ticks", p.start_ticks},
                   {"address", p.address}, {"argv", p.argv},
                   {"log", p.log},         {"data_dir", p.data_dir}};
    for (const auto& [key, address] : p.more_addresses) procs[name][key] = address;
  }
  json links = json::object();
  for (const auto& [name, l] : state.links) {
    links[name] = {{"from", l.from}, {"to", l.to}, {"listen", l.listen}, {"upstream", l.upstream}};
  }
  json j = {{"home", state.home},
            {"config", config_to_json(state.config)},
            {"processes", procs},
            {"links", links}};
  if (state.netns) j["netns"] = netns_to_json(*state.netns);
  if (!state.attached_from.empty()) j["attached_from"] = state.attached_from;
  std::string tmp = state.state_file() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out.flush()) return unavailable("cannot write " + tmp);
  }
  fs::rename(tmp, state.state_file());
  return Status::ok();
}

std::string process_identity(const std::string& name, const std::vector<std::string>& argv) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--tls-identity") return argv[i + 1];
  }
  return name;
}

Result<TopologyState> load_state(const std::string& home) {
  TopologyState state;
  state.home = fs::absolute(home).lexically_normal().string();
  std::ifstream in(state.state_file());
  if (!in) {
    return not_found("no topology is up in " + state.home +
                               " (run `drsim up --home " + home + "` first)");
  }
  try {
    json j = json::parse(in);
    state.config = config_from_json(j.at("config"));
    for (const auto& [name, p] : j.at("processes").items()) {
      ProcessInfo info;
      info.pid = p.at("pid");
      info.start_ticks = p.value("start_ticks", uint64_t{0});
      info.address = p.at("address");
      info.argv = p.at("argv").get<std::vector<std::string>>();
      info.log = p.at("log");
      info.data_dir = p.value("data_dir", "");
      for (const char* key : {"dns_address", "dashboard_address", "http_address"}) {
        if (p.contains(key)) info.more_addresses[key] = p.at(key).get<std::string>();
      }
      state.processes[name] = info;
    }
    if (j.contains("netns")) state.netns = netns_from_json(j.at("netns"));
    state.attached_from = j.value("attached_from", "");
    if (j.contains("links")) {
      for (const auto& [name, l] : j.at("links").items()) {
        state.links[name] = {l.at("from"), l.at("to"), l.at("listen"), l.at("upstream")};
      }
    }
  } catch (const std::exception& e) {
    return invalid_argument(state.state_file() + ": corrupt topology state: " + e.what());
  }
  // Every command that works on this topology dials its daemons as its operator, and each
  // address as the daemon that listens there.
  if (Status s = use_topology_transport(state.home, state.config.transport); !s.is_ok()) {
    return s;
  }
  for (const auto& [name, p] : state.processes) {
    expect_identity_at(p.address, process_identity(name, p.argv));
  }
  for (const auto& [name, l] : state.links) expect_identity_at(l.listen, l.to);
  return state;
}

}  // namespace drsim::cli
