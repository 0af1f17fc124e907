// `drsim up`: the daemons of a topology started one step at a time (TopologyStartup), then
// waited for until the topology is healthy (cli/topology.h). Starting one daemon is
// start_daemon (cli/topology_up.cc).
#include "cli/topology.h"

#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "cli/rpc_clients.h"
#include "common/config/listen_address.h"

namespace drsim::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {
// `argv` followed by `flags`.
std::vector<std::string> with(const std::vector<std::string>& flags,
                              std::vector<std::string> argv) {
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

// "active" / "standby" as the daemon itself reports it (its durable role), for `up`'s lines.
std::string role_label(const std::string& address) {
  auto st = region_status(address);
  if (!st.is_ok()) return "role unknown: " + st.status().message();
  std::string role = st->role() == drsim::v1::ROLE_ACTIVE ? "active" : "standby";
  if (st->epoch() > 1) role += ", epoch " + std::to_string(st->epoch());
  return role;
}
// The region daemon to start for `role`: the production binary, or — when the topology sets a
// `testing:` key — the test build's drsim-<role>-testhooks, the only binaries that carry the
// deliberately unsafe flags (built with the tests, never installed).
Result<std::string> region_binary(const std::string& bin, const std::string& role,
                                  const TopologyConfig& config) {
  if (!config.unsafe_ack_before_standby && !config.unsafe_no_lease) {
    return bin + "/drsim-" + role;
  }
  std::string path = bin + "/drsim-" + role + "-testhooks";
  if (::access(path.c_str(), X_OK) != 0) {
    return failed_precondition(
        "testing: the deliberately unsafe variants need the test build's drsim-" + role +
        "-testhooks beside drsim (" + path + " is missing: build with the tests, "
        "scripts/build.sh); production binaries carry no test hook");
  }
  return path;
}
}  // namespace

namespace {

// One look at the topology while `up` waits for it to become healthy.
struct HealthView {
  std::string active;        // the region that reports itself active ("" while none does)
  bool protects = false;     // `active` protects its peer
  bool replicating = false;  // `active`'s replication stream is connected
  bool online = false;       // the Traffic Manager has probed `active` Online
  Result<drsim::v1::ResolveResponse> route = internal_error("not resolved");

  // Healthy = the Traffic Manager routes to the active region, has probed it Online (not only
  // routing to it by priority while every endpoint is still being checked: the first `drsim
  // status` would say CheckingEndpoint), and, when that region protects its peer, its
  // replication stream is connected. The active region is whichever the daemons' durable state
  // says (after a failover and re-protect, the secondary), not always the primary.
  bool healthy() const {
    return route.is_ok() && !route->fail_open() && !active.empty() && route->endpoint() == active &&
           online && (replicating || !protects);
  }
  std::string healthy_line() const {
    std::string peer = active == "primary" ? "secondary" : "primary";
    return "healthy: Traffic Manager routes to " + active + "; " +
           (replicating ? "replication " + active + " -> " + peer + " connected"
                        : active + " does not replicate to " + peer +
                              " (failed over; run `drsim reprotect`)");
  }
  // What is not healthy yet, for the timeout's message.
  std::string why_not() const {
    return !route.is_ok() ? route.status().message()
           : active.empty()
               ? std::string("no region is active yet")
               : "routing=" + route->endpoint() + (route->fail_open() ? " (fail open)" : "") +
                     " active=" + active + " online=" + (online ? "yes" : "no") +
                     " replication_connected=" + (replicating ? "yes" : "no");
  }
};

// `drsim up`, one step a method: what it has started so far is in state_, and fail() stops it
// (and removes the namespaces) when a later step fails. The steps that can fail without having
// made anything (flags, the workload list) come before the namespaces are created.
class TopologyStartup {
 public:
  TopologyStartup(const std::string& home, const TopologyConfig& config,
                  const std::function<void(const std::string&)>& progress)
      : home_(home), config_(config), progress_(progress), existing_(load_state(home)) {
    state_.home = fs::absolute(home).lexically_normal().string();
    state_.config = config;
    netns_log_ = state_.home + "/netns/commands.log";
  }

  Result<TopologyState> run() {
    using Step = Status (TopologyStartup::*)();
    for (Step step :
         {&TopologyStartup::check_not_up, &TopologyStartup::plan_netns,
          &TopologyStartup::prepare_home, &TopologyStartup::set_up_transport,
          &TopologyStartup::find_region_binaries, &TopologyStartup::build_common_flags,
          &TopologyStartup::create_netns_now, &TopologyStartup::start_fault_proxy,
          &TopologyStartup::start_secondary, &TopologyStartup::start_primary,
          &TopologyStartup::tell_secondary_its_peer, &TopologyStartup::start_traffic_manager,
          &TopologyStartup::connect_witness, &TopologyStartup::report_and_save}) {
      if (Status s = (this->*step)(); !s.is_ok()) return s;
    }
    return wait_healthy();
  }

 private:
  // Stops what was started and removes the namespaces; returns `s`.
  Status fail(const Status& s) {
    for (auto& [n, p] : state_.processes) stop_process(p.pid, 2s);
    if (state_.netns) {
      auto left = remove_netns(state_.netns->layout, netns_log_);
      release_netns(state_.netns->layout);
      if (left.empty()) fs::remove(state_.state_file());
    }
    return s;
  }

  // An attached home, or a topology already up in it, is refused.
  Status check_not_up() {
    if (existing_.is_ok() && !existing_->attached_from.empty()) {
      return failed_precondition(state_.home + " is attached to daemons that run elsewhere (" +
                                 existing_->attached_from + "); `drsim down --home " + home_ +
                                 "` detaches it first (`drsim drill run FILE --attached --home " +
                                 home_ + "` drills those daemons)");
    }
    if (existing_.is_ok()) {
      for (const auto& [name, p] : existing_->processes) {
        if (recorded_alive(p.identity())) {
          return failed_precondition("a topology is already up in " + state_.home + " (" + name +
                                     " pid " + std::to_string(p.pid) +
                                     "); run `drsim down --home " + home_ + "` first");
        }
      }
    }
    return Status::ok();
  }

  // placement: netns is checked before anything is made: root, mTLS, a subnet the host does not
  // route. Its namespaces are recorded in topology.json before they exist, so `down` (or the
  // next `up`) can remove them by name whatever happens in between.
  Status plan_netns() {
    if (config_.placement != Placement::kNetns) return Status::ok();
    if (Status s = check_placement_transport(config_, "security.transport"); !s.is_ok()) return s;
    if (Status s = check_netns_privileges(config_.placement_where); !s.is_ok()) return s;
    const std::string& subnet_field = config_.subnet_where;
    auto subnet = model::parse_ipv4_net(config_.netns_subnet, subnet_field);
    if (!subnet.is_ok()) return subnet.status();
    auto planned = model::plan_netns_layout(state_.home, *subnet, subnet_field);
    if (!planned.is_ok()) return planned.status();
    layout_ = *planned;
    return Status::ok();
  }

  // The home directory; with netns, what an earlier run left removed and the subnet checked free.
  Status prepare_home() {
    std::error_code ec;
    fs::create_directories(state_.home, ec);
    if (ec) return invalid_argument("--home: cannot create " + state_.home + ": " + ec.message());
    if (!layout_) return Status::ok();
    fs::create_directories(state_.home + "/netns", ec);
    if (existing_.is_ok() && existing_->netns) {
      // Left by an earlier run that did not come down (a crash, a kill -9 of the CLI).
      auto left = remove_netns(existing_->netns->layout, netns_log_);
      if (!left.empty()) {
        return failed_precondition("cannot remove what an earlier run left: " + left.front() +
                                   " (see " + netns_log_ + ")");
      }
    }
    auto routes = host_routes(netns_log_);
    if (!routes.is_ok()) return routes.status();
    return model::check_subnet_free(layout_->subnet, *routes, config_.subnet_where);
  }

  // mTLS: the topology's CA and one certificate per process and for the operator, made on the
  // first `up` of this home and re-used after; the CLI dials as the operator.
  Status set_up_transport() {
    if (config_.transport == net::TransportSecurity::kMutualTls) {
      const std::string tls_dir = tls_dir_of(state_.home);
      std::vector<std::string> identities(tls::kTopologyIdentities.begin(),
                                          tls::kTopologyIdentities.end());
      if (Status s =
              tls::ensure_certificates(tls_dir, identities, std::chrono::system_clock::now());
          !s.is_ok()) {
        return Status(s.code(), "certificates: " + s.message());
      }
      transport_flags_ = {"--tls-dir", tls_dir};
      // Checked now, so an operator certificate that does not load stops `up` with its reason.
      auto op = tls::load_identity(tls_dir, "operator", std::chrono::system_clock::now());
      if (!op.is_ok()) return Status(op.status().code(), "certificates: " + op.status().message());
    }
    return use_topology_transport(state_.home, config_.transport);
  }

  Status find_region_binaries() {
    bin_ = bin_dir();
    auto sec_bin = region_binary(bin_, "secondary", config_);
    if (!sec_bin.is_ok()) return sec_bin.status();
    auto pri_bin = region_binary(bin_, "primary", config_);
    if (!pri_bin.is_ok()) return pri_bin.status();
    secondary_bin_ = *sec_bin;
    primary_bin_ = *pri_bin;
    return Status::ok();
  }

  // Recorded in topology.json first, then made.
  Status create_netns_now() {
    if (!layout_) return Status::ok();
    state_.netns = NetnsState{*layout_, {}, {}};
    if (Status s = save_state(state_); !s.is_ok()) return s;
    own_netns(*layout_, netns_log_);
    if (Status s = create_netns(*layout_, netns_log_); !s.is_ok()) return fail(s);
    progress_("network namespaces " + std::to_string(layout_->members.size()) + " on bridge " +
              layout_->bridge + " " + layout_->subnet.text() + " (this host " +
              layout_->host_address + ")");
    return Status::ok();
  }

  // The flags both region daemons take.
  Status build_common_flags() {
    auto workloads = workloads_args(config_, state_.home);
    if (!workloads.is_ok()) return workloads.status();
    common_ = *workloads;
    common_.insert(common_.end(), transport_flags_.begin(), transport_flags_.end());
    if (config_.fsync) common_.push_back("--fsync");
    if (config_.unsafe_ack_before_standby) common_.push_back("--unsafe-ack-before-standby");
    if (config_.unsafe_no_lease) common_.push_back("--unsafe-no-lease");
    common_.insert(common_.end(),
                   {"--lease-ms", std::to_string(config_.lease_ms), "--lease-renew-interval-ms",
                    std::to_string(config_.lease_renew_interval_ms)});
    if (config_.time_scale != 1) {
      common_.push_back("--time-scale");
      common_.push_back(std::to_string(config_.time_scale));
    }
    return Status::ok();
  }

  // Where `name` listens and how it is started: inside its namespace with placement: netns.
  std::string listen_host(const std::string& name) const {
    return layout_ ? layout_->find(name)->address : "127.0.0.1";
  }
  // `configured` is a topology file's listen address (read_listen checked it): its port.
  std::string listen_at(const std::string& name, const std::string& configured) const {
    return config::join_host_port(listen_host(name),
                                  config::parse_host_port(name, configured)->port);
  }
  std::vector<std::string> placed(const std::string& name, std::vector<std::string> argv) const {
    if (!layout_) return argv;
    std::vector<std::string> out = model::netns_exec(layout_->find(name)->netns);
    out[0] = netns_ip_path();
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }
  std::string where(const std::string& name) const {
    return layout_ ? "  netns " + layout_->find(name)->netns : "";
  }

  // The fault proxy comes first: every other process is reached through one of its links.
  Status start_fault_proxy() {
    if (!config_.fault_proxy) return Status::ok();
    auto f = start_daemon(
        "faultproxy",
        placed("faultproxy", with(transport_flags_, {bin_ + "/drsim-faultproxy", "--listen",
                                                     listen_host("faultproxy") + ":0", "--seed",
                                                     std::to_string(config_.fault_seed)})),
        state_.home + "/faultproxy", "");
    if (!f.is_ok()) return fail(f.status());
    state_.processes["faultproxy"] = *f;
    proxy_ = f->address;
    progress_("fault proxy        pid " + std::to_string(f->pid) + "  " + proxy_ +
              "  (every link below goes through it)" + where("faultproxy"));
    return Status::ok();
  }

  // A link from -> to in front of `upstream`; without the proxy, the upstream itself.
  Result<std::string> link(const std::string& name, const std::string& from, const std::string& to,
                           const std::string& upstream) {
    if (proxy_.empty()) return upstream;
    auto listen = fp_add_link(proxy_, name, upstream);
    if (!listen.is_ok()) return listen.status();
    state_.links[name] = {from, to, *listen, upstream};
    expect_identity_at(*listen, to);
    return *listen;
  }

  // Starts region `name` with `argv` and the common flags; `label` begins its progress line.
  Status start_region(const std::string& name, std::vector<std::string> argv,
                      const std::string& label) {
    argv.insert(argv.end(), common_.begin(), common_.end());
    auto r = start_daemon(name, placed(name, argv), state_.home + "/" + name,
                          state_.home + "/" + name + "/data");
    if (!r.is_ok()) return fail(r.status());
    state_.processes[name] = *r;
    progress_(label + "pid " + std::to_string(r->pid) + "  " + r->address + "  (" +
              role_label(r->address) + ")" + where(name));
    return Status::ok();
  }

  Status start_secondary() {
    return start_region(
        "secondary",
        {secondary_bin_, "--name", "secondary", "--peer-name", "primary", "--listen",
         listen_at("secondary", config_.secondary_listen), "--role", "standby", "--data-dir",
         state_.home + "/secondary/data", "--http-listen", "127.0.0.1:0"},
        "secondary region   ");
  }

  Status start_primary() {
    auto to_secondary =
        link("repl.primary-secondary", "primary", "secondary", state_.at("secondary").address);
    if (!to_secondary.is_ok()) return fail(to_secondary.status());
    return start_region(
        "primary",
        {primary_bin_, "--name", "primary", "--peer-name", "secondary", "--listen",
         listen_at("primary", config_.primary_listen), "--role", "active", "--peer", *to_secondary,
         "--data-dir", state_.home + "/primary/data", "--http-listen", "127.0.0.1:0"},
        "primary region     ");
  }

  // The secondary learns where the primary is (for status, and re-protect).
  Status tell_secondary_its_peer() {
    auto to_primary =
        link("repl.secondary-primary", "secondary", "primary", state_.at("primary").address);
    if (!to_primary.is_ok()) return fail(to_primary.status());
    if (Status st = region_set_peer(state_.at("secondary").address, *to_primary); !st.is_ok()) {
      return fail(st);
    }
    state_.processes["secondary"].argv.push_back("--peer");
    state_.processes["secondary"].argv.push_back(*to_primary);
    return Status::ok();
  }

  // The Traffic Manager's flags, but for the endpoints (links made in start_traffic_manager).
  std::vector<std::string> traffic_manager_argv() const {
    // clang-format off: one flag and its value a line.
    std::vector<std::string> tm = {
        bin_ + "/drsim-trafficmgr", "--listen", listen_at("trafficmgr", config_.trafficmgr_listen),
        "--profile", config_.profile, "--probe-interval-ms",
        std::to_string(config_.probe_interval_ms), "--probe-timeout-ms",
        std::to_string(config_.probe_timeout_ms), "--tolerated-failures",
        std::to_string(config_.tolerated_failures), "--ttl-ms", std::to_string(config_.ttl_ms),
        // DNS and the dashboard on loopback ports drsim chooses; each region's DNS answer is a
        // loopback address of its own, so a dig tells them apart (every region listens on
        // 127.0.0.1).
        "--dns-listen", "127.0.0.1:0", "--dns-name", config_.profile + ".trafficmanager.test",
        "--dns-address", "primary=" + std::string(kPrimaryDnsAddress), "--dns-address",
        "secondary=" + std::string(kSecondaryDnsAddress), "--dashboard-listen", "127.0.0.1:0",
        "--state-dir", state_.home + "/trafficmgr", "--region-admin",
        "primary=" + state_.at("primary").address, "--region-admin",
        "secondary=" + state_.at("secondary").address};
    // clang-format on
    tm.insert(tm.end(), transport_flags_.begin(), transport_flags_.end());
    return tm;
  }

  Status start_traffic_manager() {
    std::vector<std::string> tm = traffic_manager_argv();
    for (const char* region : {"primary", "secondary"}) {
      std::string name = region;
      const std::string address = state_.at(name).address;
      auto clients = link("client." + name, "clients", name, address);
      auto probes = link("probe." + name, "trafficmgr", name, address);
      if (!clients.is_ok()) return fail(clients.status());
      if (!probes.is_ok()) return fail(probes.status());
      tm.insert(tm.end(),
                {"--endpoint", name + "=" + *clients, "--probe-address", name + "=" + *probes});
    }
    auto t = start_daemon("trafficmgr", placed("trafficmgr", tm), state_.home + "/trafficmgr", "");
    if (!t.is_ok()) return fail(t.status());
    state_.processes["trafficmgr"] = *t;
    progress_("traffic manager    pid " + std::to_string(t->pid) + "  " + t->address +
              "  (profile " + config_.profile + ", priority routing)" + where("trafficmgr"));
    return Status::ok();
  }

  // The Traffic Manager is also the lease witness of the pair: each region reaches it on a
  // link of its own (witness.<region>), so a partition can cut a region off from it.
  Status connect_witness() {
    for (const char* name : {"primary", "secondary"}) {
      auto witness =
          link(std::string("witness.") + name, name, "trafficmgr", state_.at("trafficmgr").address);
      if (!witness.is_ok()) return fail(witness.status());
      if (Status st = region_set_witness(state_.processes[name].address, *witness); !st.is_ok()) {
        return fail(st);
      }
      state_.processes[name].argv.push_back("--witness");
      state_.processes[name].argv.push_back(*witness);
    }
    return Status::ok();
  }

  // The lines about links, lease, DNS, dashboard and transport; then topology.json.
  Status report_and_save() {
    if (!proxy_.empty()) {
      progress_("links              " + std::to_string(state_.links.size()) +
                " (client.*, probe.*, repl.*, witness.*): `drsim status` lists them");
    }
    progress_("lease              " + std::to_string(config_.lease_ms) + " ms, renewed every " +
              std::to_string(config_.lease_renew_interval_ms) +
              " ms through the peer or the Traffic Manager (witness)");
    progress_("  " + dns_line(state_));
    progress_("  " + dashboard_line(state_));
    progress_("transport          " + transport_line(state_));
    if (layout_) {
      progress_(
          "  (DNS, dashboard and the regions' HTTP listen on 127.0.0.1 inside their "
          "namespace: `ip netns exec <netns> ...` reaches them)");
    }
    if (Status st = save_state(state_); !st.is_ok()) return fail(st);
    return Status::ok();
  }

  HealthView look_at_health() const {
    HealthView h;
    for (const char* name : {"primary", "secondary"}) {
      auto st = region_status(state_.at(name).address);
      if (!st.is_ok() || st->role() != drsim::v1::ROLE_ACTIVE) continue;
      h.active = st->region();
      h.protects = st->protection() == drsim::v1::REGION_PROTECTION_PROTECTED ||
                   st->protection() == drsim::v1::REGION_PROTECTION_RESYNCING;
      h.replicating = st->replication_connected();
    }
    const std::string& tm = state_.at("trafficmgr").address;
    h.route = tm_resolve(tm, config_.profile);
    if (auto eps = tm_endpoints(tm, config_.profile); eps.is_ok()) {
      for (const auto& e : eps->endpoints()) {
        h.online |= e.name() == h.active && e.status() == drsim::v1::ENDPOINT_ONLINE;
      }
    }
    return h;
  }

  // Until healthy (HealthView::healthy), for at most 15 s.
  Result<TopologyState> wait_healthy() {
    auto deadline = std::chrono::steady_clock::now() + 15s;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      HealthView h = look_at_health();
      if (h.healthy()) {
        progress_(h.healthy_line());
        return state_;
      }
      last = h.why_not();
      std::this_thread::sleep_for(20ms);
    }
    return fail(Status(StatusCode::kDeadlineExceeded,
                       "topology did not become healthy within 15 s (" + last + ")"));
  }

  const std::string& home_;  // as given (the messages name it so)
  const TopologyConfig& config_;
  const std::function<void(const std::string&)>& progress_;
  TopologyState state_;
  Result<TopologyState> existing_;  // what an earlier `up` of this home recorded
  std::string netns_log_;
  std::optional<model::NetnsLayout> layout_;  // placement: netns
  std::vector<std::string> transport_flags_ = {"--insecure"};
  std::string bin_, secondary_bin_, primary_bin_;
  std::vector<std::string> common_;  // the flags both regions take
  std::string proxy_;                // the fault proxy's address; "" without it
};

}  // namespace

Result<TopologyState> topology_up(const std::string& home, const TopologyConfig& config,
                                  const std::function<void(const std::string&)>& progress) {
  return TopologyStartup(home, config, progress).run();
}

}  // namespace drsim::cli
